/** User settings: one schema, with defaults, shared by the store, the API and the Settings page. */
import { z } from 'zod';
import type { settingKeys } from './enums.js';
import { BindHost, ServerName } from './server.js';
import { HubSource } from './downloads.js';

export const quitBehaviours = ['stop-services', 'keep-running'] as const;

/**
 * A Docker engine's container limits, replacing its catalog entry's `resources` (an environment
 * variable AIMA_<ENGINE>_MEMORY / _CPU / _GPU, when set, wins over this).
 */
export const EngineResourceOverride = z
  .object({
    /** Memory limit: bytes, or a number with b, k, m or g. */
    memory: z.string().regex(/^\d+(\.\d+)?[bkmgBKMG]?$/, 'bytes or a number with b, k, m or g, e.g. "32g"').optional(),
    /** CPU limit in cores. */
    cpus: z.number().positive().max(4096).optional(),
    /** GPUs when a service names none: "all" or indexes. */
    gpus: z.string().regex(/^(all|\d+(,\d+)*)$/, '"all" or GPU indexes such as "0,1"').optional(),
  })
  .strict();
export type EngineResourceOverride = z.infer<typeof EngineResourceOverride>;

/** Each setting's type, without defaults (a patch must not fill in the settings it leaves out). */
const fields = {
  /** Launch AIMA when the user logs in (desktop app only). */
  startAtLogin: z.boolean(),
  /** What happens to services AIMA started when the desktop app quits. */
  onQuit: z.enum(quitBehaviours),
  /** Start a stopped service when a request for its model arrives at the gateway. */
  startOnDemand: z.boolean(),
  /** UI theme. */
  theme: z.enum(['system', 'light', 'dark']),
  /** Gateway: requests that may wait for a busy model before 429 (per model: one queue over its replicas). */
  gatewayQueueSize: z.number().int().min(0).max(10_000),
  /** Gateway: how long a request may wait for a slot (or for its service to start) before 503. */
  gatewayQueueTimeoutSeconds: z.number().int().min(1).max(3600),
  /** Gateway: web origins allowed to call /v1 from a browser (CORS). */
  corsOrigins: z.array(z.string().regex(/^https?:\/\/[^/]+$/, 'an origin such as http://localhost:3000')).max(50),
  /** /v1/realtime: live sessions at once; the next connection is refused (503) until one ends. */
  realtimeMaxSessions: z.number().int().min(0).max(256),
  /** /v1/realtime: a session with no audio and no events for this long is closed. */
  realtimeIdleSeconds: z.number().int().min(10).max(86_400),
  /** The address the core binds at start (`aima serve --host` wins); beyond loopback needs an API key. */
  listenHost: BindHost,
  /** DNS names of the host that clients use, besides those it reports (the certificate covers them). */
  serverNames: z.array(ServerName).max(20),
  /** Beyond loopback: a PEM certificate to serve HTTPS with instead of the install CA's ('' for none). */
  tlsCertFile: z.string().max(4096),
  /** The PEM private key of tlsCertFile. */
  tlsKeyFile: z.string().max(4096),
  /** Docker engines' container limits by engine id, e.g. {"vllm": {"memory": "48g", "cpus": 8}}. */
  engineResources: z.record(z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'an engine id such as "vllm"'), EngineResourceOverride),
  /**
   * Scheduler: how much of the machine's memory (MiB) services may hold together; a start that
   * would go beyond it stops idle services first, or is refused. null = total RAM minus a reserve
   * for the system (see docs/scheduler.md). More than the machine has is refused.
   */
  servicesMemoryCapMiB: z.number().int().min(64).nullable(),
  /** Scheduler: seconds without a request before a service started on demand stops (0 = never); a service's own idle TTL wins. */
  onDemandIdleTtlSeconds: z.number().int().min(0).max(30 * 24 * 3600),
  /** Scheduler: a service started less than this many seconds ago is not stopped to make room for another. */
  antiThrashSeconds: z.number().int().min(0).max(3600),
  /** Voice: store each turn's user audio and spoken reply (FLAC, under <data dir>/recordings). */
  voiceRecording: z.boolean(),
  /** Voice: most space recordings may take, MiB (fractions allowed); past it the oldest turns' audio is removed. */
  voiceRecordingCapMiB: z.number().min(0.1).max(1_048_576),
  /**
   * Voice: start each turn speculatively at the early mark (ASR, LLM and the first sentence's TTS,
   * held unseen) and adapt the silence window to the transcript; off: the fixed window, then the turn.
   */
  voiceSpeculation: z.boolean(),
  /** Voice: silence after which a speculative turn starts, ms (below the silence window, or speculation does not apply). */
  voiceEarlyMarkMs: z.number().int().min(50).max(2000),
  /** Voice: the silence window after a complete sentence or question, ms (never longer than the base window). */
  voiceWindowMinMs: z.number().int().min(100).max(5000),
  /** Voice: the silence window after a hesitation or a trailing "and", ms (never shorter than the base window). */
  voiceWindowMaxMs: z.number().int().min(100).max(10_000),
  /** Where a search or download goes when it names no source. */
  downloadSource: HubSource,
};

export const Settings = z.object({
  startAtLogin: fields.startAtLogin.default(false),
  onQuit: fields.onQuit.default('stop-services'),
  startOnDemand: fields.startOnDemand.default(true),
  theme: fields.theme.default('system'),
  gatewayQueueSize: fields.gatewayQueueSize.default(32),
  gatewayQueueTimeoutSeconds: fields.gatewayQueueTimeoutSeconds.default(120),
  corsOrigins: fields.corsOrigins.default([]),
  realtimeMaxSessions: fields.realtimeMaxSessions.default(4),
  realtimeIdleSeconds: fields.realtimeIdleSeconds.default(300),
  engineResources: fields.engineResources.default({}),
  servicesMemoryCapMiB: fields.servicesMemoryCapMiB.default(null),
  onDemandIdleTtlSeconds: fields.onDemandIdleTtlSeconds.default(600),
  antiThrashSeconds: fields.antiThrashSeconds.default(30),
  voiceRecording: fields.voiceRecording.default(false),
  voiceRecordingCapMiB: fields.voiceRecordingCapMiB.default(1024),
  voiceSpeculation: fields.voiceSpeculation.default(true),
  voiceEarlyMarkMs: fields.voiceEarlyMarkMs.default(200),
  voiceWindowMinMs: fields.voiceWindowMinMs.default(300),
  voiceWindowMaxMs: fields.voiceWindowMaxMs.default(1200),
  listenHost: fields.listenHost.default('127.0.0.1'),
  serverNames: fields.serverNames.default([]),
  tlsCertFile: fields.tlsCertFile.default(''),
  tlsKeyFile: fields.tlsKeyFile.default(''),
  downloadSource: fields.downloadSource.default('huggingface'),
});
export type Settings = z.infer<typeof Settings>;
export type SettingKey = keyof Settings;

// enums.ts lists the setting names for callers that must not load zod: both lists must agree.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const settingKeysMatch: Same<(typeof settingKeys)[number], SettingKey> = true;
void settingKeysMatch;

/** A partial update: unknown keys are refused so a typo is an error, not a silent no-op. */
export const SettingsPatch = z.object(fields).partial().strict();
export type SettingsPatch = z.infer<typeof SettingsPatch>;

export const defaultSettings: Settings = Settings.parse({});
