/**
 * What a model hub is to the downloader: search, a repository's files (sizes and checksums as the
 * hub publishes them), where a file's bytes are and the headers to ask with, and which checksum a
 * file is verified against. Hugging Face (huggingface-hub.ts) and ModelScope (modelscope-hub.ts)
 * are adapters; the manager and the transfer are the same for both.
 */
import type { HubFile, HubModelHit, HubSource } from '../../shared/contract/index.js';
import type { ResolvedFile } from './http-range.js';
import type { Checksum } from './prefix-hasher.js';

export interface ModelHub {
  readonly source: HubSource;
  /** For messages: "Hugging Face", "ModelScope". */
  readonly label: string;
  readonly endpoint: string;
  /** The branch a download without a revision takes (main, or master on ModelScope). */
  readonly defaultRevision: string;
  /** The folder under `<dataDir>/models` that downloaded repositories go to. */
  readonly folder: string;
  /** `filter`: a library or tag such as `gguf`; undefined or '' for none. */
  search(query: string, filter: string | undefined, limit: number): Promise<HubModelHit[]>;
  /** Every file (not folder) of a repository at a revision; a missing repository is a not-found AimaError. */
  listFiles(repo: string, revision: string): Promise<HubFile[]>;
  /** Where a file's bytes are asked for (it may redirect to a CDN). */
  fileUrl(repo: string, revision: string, filePath: string): string;
  /** Headers for the hub's own requests (a token); none when anonymous. */
  authHeaders(): Record<string, string>;
  /**
   * How the file URL is probed before the transfer: HEAD, or a one-byte ranged GET for a hub whose
   * file API is known to answer GET only.
   */
  readonly probe: 'head' | 'get';
  /** The checksum a file is verified against, from its listing entry and the probe's answer; null when the hub publishes none. */
  checksum(file: { sha256: string | null; blobId: string | null }, resolved: ResolvedFile): Checksum | null;
}

export type ModelHubs = Readonly<Record<HubSource, ModelHub>>;
