/** The gateway's API: keys, remote endpoints, and the recent-requests view. */
import { z } from 'zod';
import { remoteKinds } from './enums.js';

export const ApiKeyInfo = z.object({
  id: z.string(),
  name: z.string(),
  /** The first characters, to tell keys apart ("aima-AbCd"). */
  prefix: z.string(),
  createdAt: z.string(),
  lastUsedAt: z.string().nullable(),
  revokedAt: z.string().nullable(),
});
export type ApiKeyInfo = z.infer<typeof ApiKeyInfo>;

export const ApiKeyCreateParams = z.object({ name: z.string().trim().min(1).max(64) }).strict();
/** The key itself appears only in this answer; only its hash is stored. */
export const ApiKeyCreated = z.object({ key: z.string(), info: ApiKeyInfo });
export const ApiKeyRevokeParams = z.object({ id: z.string().min(1) }).strict();

/**
 * Where and how the desktop page calls /v1 itself (the Chat page): the core's URL and a bearer
 * credential the gateway accepts on /v1 only. It lives in the core's memory for as long as that
 * process runs, and /api refuses it, so a compromised page never holds the install token.
 */
export const GatewayPageAccess = z.object({ url: z.string(), token: z.string() });
export type GatewayPageAccess = z.infer<typeof GatewayPageAccess>;

export { remoteKinds } from './enums.js';

export const RemoteEndpoint = z.object({
  name: z.string(),
  /** Base URL ending before /v1, e.g. https://api.example.com */
  baseUrl: z.string(),
  models: z.array(z.string()),
  kind: z.enum(remoteKinds),
  hasKey: z.boolean(),
  createdAt: z.string(),
});
export type RemoteEndpoint = z.infer<typeof RemoteEndpoint>;

export const RemoteAddParams = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'use 1–64 letters, digits, ".", "_" or "-"'),
    baseUrl: z.url({ protocol: /^https?$/ }),
    models: z.array(z.string().min(1)).min(1),
    kind: z.enum(remoteKinds).default('llm'),
    apiKey: z.string().optional(),
  })
  .strict();
export const RemoteRef = z.object({ name: z.string().min(1) }).strict();

export const RequestRecord = z.object({
  id: z.number(),
  at: z.string(),
  endpoint: z.string(),
  model: z.string().nullable(),
  status: z.number(),
  durationMs: z.number(),
  queuedMs: z.number(),
  ttftMs: z.number().nullable(),
  completionTokens: z.number().nullable(),
  tokensPerSecond: z.number().nullable(),
  stream: z.boolean(),
  error: z.string().nullable(),
});
export type RequestRecord = z.infer<typeof RequestRecord>;
export const RequestsParams = z.object({ limit: z.number().int().min(1).max(200).default(50) }).strict();

/** One request waiting for a model: where it stands and how long it should still wait. */
export const QueuedRequest = z.object({
  id: z.number(),
  /** The client's `x-request-id` header, so a client finds its own request; null without one. */
  clientId: z.string().nullable(),
  endpoint: z.string(),
  /** 1 = next to be served. */
  position: z.number().int(),
  /** Its position when it arrived. */
  arrivedPosition: z.number().int(),
  /** ceil(position / slots) x the model's estimated service time; null while no replica runs. */
  etaMs: z.number().nullable(),
  waitedMs: z.number(),
});
export type QueuedRequest = z.infer<typeof QueuedRequest>;

/** One model's queue over its replicas (the `gateway.queue` event carries one of these per change). */
export const ModelQueueState = z.object({
  model: z.string(),
  /** Running replicas and their parallel slots in total. */
  replicas: z.number().int(),
  slots: z.number().int(),
  inFlight: z.number().int(),
  waiting: z.array(QueuedRequest),
});
export type ModelQueueState = z.infer<typeof ModelQueueState>;

/** The service-time average behind the ETAs, per model and endpoint. */
export const ServiceTimeEstimate = z.object({
  model: z.string(),
  endpoint: z.string(),
  samples: z.number().int(),
  /** The exponential moving average of the samples (alpha 0.3). */
  emaMs: z.number(),
  /** What ETAs use: the average once 3 samples exist, before that the endpoint's default. */
  estimateMs: z.number(),
});
export const GatewayQueue = z.object({ models: z.array(ModelQueueState), serviceTimes: z.array(ServiceTimeEstimate) });
export type GatewayQueue = z.infer<typeof GatewayQueue>;
