/**
 * Model downloads as the API shows them: search and file listings on a model hub (Hugging Face or
 * ModelScope, with GGUF quantizations grouped), and resumable, verified downloads with live progress.
 */
import { z } from 'zod';
import { hubSources } from './enums.js';

/** Which hub: `huggingface` (HF_ENDPOINT) or `modelscope` (MODELSCOPE_ENDPOINT). Absent: the `downloadSource` setting. */
export const HubSource = z.enum(hubSources, { error: () => `a source is one of: ${hubSources.join(', ')}` });
export type HubSource = z.infer<typeof HubSource>;

/** A repository id on either hub: `owner/name`. */
export const HubRepoId = z
  .string()
  .regex(/^[A-Za-z0-9][\w.-]*\/[\w.-]+$/, 'a repository id looks like owner/name')
  .refine((s) => !s.split('/').some((p) => p === '.' || p === '..'), 'a repository id has no "." or ".." parts');

/** A revision: a branch, tag or commit (no path separators that could leave the repo folder). Absent: the hub's default branch (main, or master on ModelScope). */
export const HubRevision = z.string().regex(/^[\w.-]+$/, 'a revision is a branch, tag or commit without "/"');

export const HubSearchParams = z
  .object({
    query: z.string().max(200),
    /** Hub `filter` (library or tag); default `gguf`. Empty string: no filter. */
    filter: z.string().max(50).optional(),
    limit: z.number().int().min(1).max(100).default(20),
    source: HubSource.optional(),
  })
  .strict();

export const HubModelHit = z.object({
  id: z.string(),
  downloads: z.number().optional(),
  likes: z.number().optional(),
  lastModified: z.string().optional(),
  tags: z.array(z.string()),
  /** false, or the kind of gating ("auto", "manual"): a token is needed to download. */
  gated: z.union([z.boolean(), z.string()]).optional(),
});
export type HubModelHit = z.infer<typeof HubModelHit>;

export const HubFilesParams = z.object({ repo: HubRepoId, revision: HubRevision.optional(), source: HubSource.optional() }).strict();

export const HubFile = z.object({
  path: z.string(),
  size: z.number(),
  /** sha256 of the content: Hugging Face's tree API `lfs.oid` (LFS files), ModelScope's `Sha256` (every file). */
  sha256: z.string().optional(),
  /** git blob SHA-1 (the tree API's `oid`); the checksum of small non-LFS files. */
  blobId: z.string().optional(),
});
export type HubFile = z.infer<typeof HubFile>;

/** How a file size compares with the host, when a fit estimator is available. */
export const FitHint = z.object({
  kind: z.enum(['fits', 'tight', 'too-big']),
  message: z.string(),
});
export type FitHint = z.infer<typeof FitHint>;

/** One downloadable GGUF variant: a quantization, with all its split shards. */
export const QuantGroup = z.object({
  /** `Q4_K_M`, `F16`, … or `unknown`. */
  quant: z.string(),
  /** Display label: the file name, or the shard series' common name. */
  label: z.string(),
  files: z.array(z.string()),
  sizeBytes: z.number(),
  /** Vision projectors and similar companions, not a model on their own. */
  companion: z.boolean(),
  fit: FitHint.optional(),
});
export type QuantGroup = z.infer<typeof QuantGroup>;

export const HubFiles = z.object({
  source: HubSource,
  repo: z.string(),
  revision: z.string(),
  files: z.array(HubFile),
  totalBytes: z.number(),
  groups: z.array(QuantGroup),
});
export type HubFiles = z.infer<typeof HubFiles>;

export const StarterModel = z.object({
  role: z.enum(['llm', 'asr', 'tts']),
  title: z.string(),
  repo: z.string(),
  /** The hub the repository is on (default huggingface). */
  source: HubSource.optional(),
  revision: z.string().optional(),
  /** Files to fetch; absent = the whole repository. */
  files: z.array(z.string()).optional(),
  approxBytes: z.number(),
  note: z.string(),
});
export type StarterModel = z.infer<typeof StarterModel>;

export const HubTokenParams = z.object({ token: z.string().min(1).max(400).nullable() }).strict();
export const HubTokenStatus = z.object({
  set: z.boolean(),
  /** Where the token lives: env (HF_TOKEN), keychain, electron-safe-storage, file (0600). */
  store: z.enum(['env', 'keychain', 'electron-safe-storage', 'file', 'none']),
  warning: z.string().optional(),
});
export type HubTokenStatus = z.infer<typeof HubTokenStatus>;

/**
 * A download's life:
 *
 *   queued ──► downloading ──► verifying ──► importing ──► completed
 *                 │   ▲  │          │             │
 *          pause  ▼   │  └──────────┴─────────────┴──► failed ──(resume)──► queued
 *               paused ┘ resume
 *   cancel (any but completed): partial files deleted, row deleted
 *
 * The download manager owns every transition; a core restart turns queued/downloading/verifying
 * back into queued and carries on.
 */
export const downloadStates = ['queued', 'downloading', 'paused', 'verifying', 'importing', 'completed', 'failed', 'cancelled'] as const;
export type DownloadState = (typeof downloadStates)[number];

export const DownloadFileProgress = z.object({
  path: z.string(),
  size: z.number(),
  done: z.number(),
  verified: z.boolean(),
});

export const DownloadSummary = z.object({
  id: z.string(),
  /** The hub the files come from. */
  source: HubSource,
  repo: z.string(),
  revision: z.string(),
  state: z.enum(downloadStates),
  files: z.array(DownloadFileProgress),
  bytesDone: z.number(),
  bytesTotal: z.number(),
  /** Bytes per second over the last seconds; 0 when not moving. */
  speedBps: z.number(),
  /** Seconds left at the current speed; null when unknown. */
  etaSeconds: z.number().nullable(),
  error: z.string().optional(),
  /** The library name once imported (or the name asked for). */
  modelName: z.string().optional(),
  /** Transient failures retried so far in this run. */
  retries: z.number(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type DownloadSummary = z.infer<typeof DownloadSummary>;

export const DownloadStartParams = z
  .object({
    repo: HubRepoId,
    revision: HubRevision.optional(),
    /** The hub (default: the `downloadSource` setting). */
    source: HubSource.optional(),
    /** Exact paths in the repo. */
    files: z.array(z.string().min(1)).optional(),
    /** Glob over paths (`*`, `?`, `**`), e.g. `*Q4_K_M*.gguf`. */
    include: z.string().min(1).optional(),
    /** Library name for the model (default: from the model). */
    name: z.string().optional(),
  })
  .strict();
export type DownloadStartParams = z.input<typeof DownloadStartParams>;

export const DownloadRef = z.object({ id: z.string().min(1) }).strict();
export const DownloadCancelResult = z.object({ id: z.string(), cancelled: z.boolean() });
