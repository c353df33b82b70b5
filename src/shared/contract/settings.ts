/** User settings: one schema, with defaults, shared by the store, the API and the Settings page. */
import { z } from 'zod';

export const quitBehaviours = ['stop-services', 'keep-running'] as const;
export type QuitBehaviour = (typeof quitBehaviours)[number];

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
  /** Gateway: requests that may wait for a busy service before 429 (per service). */
  gatewayQueueSize: z.number().int().min(0).max(10_000),
  /** Gateway: how long a request may wait for a slot (or for its service to start) before 503. */
  gatewayQueueTimeoutSeconds: z.number().int().min(1).max(3600),
  /** Gateway: web origins allowed to call /v1 from a browser (CORS). */
  corsOrigins: z.array(z.string().regex(/^https?:\/\/[^/]+$/, 'an origin such as http://localhost:3000')).max(50),
};

export const Settings = z.object({
  startAtLogin: fields.startAtLogin.default(false),
  onQuit: fields.onQuit.default('stop-services'),
  startOnDemand: fields.startOnDemand.default(true),
  theme: fields.theme.default('system'),
  gatewayQueueSize: fields.gatewayQueueSize.default(32),
  gatewayQueueTimeoutSeconds: fields.gatewayQueueTimeoutSeconds.default(120),
  corsOrigins: fields.corsOrigins.default([]),
});
export type Settings = z.infer<typeof Settings>;
export type SettingKey = keyof Settings;

/** A partial update: unknown keys are refused so a typo is an error, not a silent no-op. */
export const SettingsPatch = z.object(fields).partial().strict();
export type SettingsPatch = z.infer<typeof SettingsPatch>;

export const defaultSettings: Settings = Settings.parse({});
