/**
 * The Hugging Face Hub's HTTP API, as much as AIMA needs: model search, a repository's file tree
 * (sizes, LFS sha256, git blob ids) and resolve URLs. The endpoint comes from HF_ENDPOINT (a mirror
 * works unchanged); a token, when set, goes in the Authorization header for gated repositories.
 * Requests go through the environment's proxy (proxy.ts).
 */
import { hubSourceLabels } from '../../shared/contract/enums.js';
import type { HubFile, HubModelHit } from '../../shared/contract/index.js';
import { AimaError } from '../../shared/errors.js';
import type { ModelHub } from './hub.js';
import { hubRequest, type HubHttpOptions } from './hub-http.js';
import type { ResolvedFile } from './http-range.js';
import type { Checksum } from './prefix-hasher.js';

export const DEFAULT_HF_ENDPOINT = 'https://huggingface.co';

export interface HubClientOptions {
  endpoint?: string;
  /** Read on every request, so a token set while running applies at once. */
  token?: () => string | null;
  timeoutMs?: number;
}

interface TreeEntry {
  type: 'file' | 'directory';
  path: string;
  size: number;
  oid?: string;
  lfs?: { oid: string; size: number };
}

interface RawHit {
  id?: string;
  modelId?: string;
  downloads?: number;
  likes?: number;
  lastModified?: string;
  tags?: string[];
  gated?: boolean | string;
}

const encodePath = (p: string) => p.split('/').map(encodeURIComponent).join('/');

export class HuggingFaceHub implements ModelHub {
  readonly source = 'huggingface' as const;
  readonly label = hubSourceLabels.huggingface;
  readonly defaultRevision = 'main';
  readonly folder = 'hf';
  readonly probe = 'head' as const;
  readonly endpoint: string;
  private readonly http: HubHttpOptions;

  constructor(private readonly opts: HubClientOptions = {}) {
    this.endpoint = (opts.endpoint ?? DEFAULT_HF_ENDPOINT).replace(/\/+$/, '');
    this.http = { endpoint: this.endpoint, endpointVariable: 'HF_ENDPOINT', timeoutMs: opts.timeoutMs, statusError: hubHttpError };
  }

  authHeaders(): Record<string, string> {
    const t = this.opts.token?.();
    return t ? { authorization: `Bearer ${t}` } : {};
  }

  /** `GET /api/models?search=…&filter=…&limit=…` */
  async search(query: string, filter: string | undefined, limit: number): Promise<HubModelHit[]> {
    const u = new URL(`${this.endpoint}/api/models`);
    if (query) u.searchParams.set('search', query);
    if (filter) u.searchParams.set('filter', filter);
    u.searchParams.set('limit', String(limit));
    const res = await hubRequest(this.http, { url: u.toString(), what: 'search the Hub', headers: this.authHeaders() });
    const hits = (await res.json()) as RawHit[];
    return hits.map((h) => ({
      id: h.id ?? h.modelId ?? '?',
      downloads: h.downloads,
      likes: h.likes,
      lastModified: h.lastModified,
      tags: h.tags ?? [],
      ...(h.gated !== undefined ? { gated: h.gated } : {}),
    }));
  }

  /** Every file of a repository at a revision (`/api/models/{repo}/tree/{rev}?recursive=true`, following pagination). */
  async listFiles(repo: string, revision: string): Promise<HubFile[]> {
    let next: string | null = `${this.endpoint}/api/models/${repo}/tree/${encodeURIComponent(revision)}?recursive=true`;
    const files: HubFile[] = [];
    while (next) {
      const res = await hubRequest(this.http, { url: next, what: `list the files of ${repo}`, repo, headers: this.authHeaders() });
      const entries = (await res.json()) as TreeEntry[];
      for (const e of entries) {
        if (e.type !== 'file') continue;
        files.push({
          path: e.path,
          size: e.lfs?.size ?? e.size,
          ...(e.lfs ? { sha256: e.lfs.oid } : {}),
          ...(e.oid ? { blobId: e.oid } : {}),
        });
      }
      next = nextLink(res.headers.get('link'));
    }
    return files;
  }

  /** Where a file's bytes are: `{endpoint}/{repo}/resolve/{revision}/{path}` (redirects to a CDN for LFS files). */
  fileUrl(repo: string, revision: string, filePath: string): string {
    return `${this.endpoint}/${repo}/resolve/${encodeURIComponent(revision)}/${encodePath(filePath)}`;
  }

  /** LFS files: sha256 (tree `lfs.oid`, else `X-Linked-Etag`); small files: the git blob SHA-1 (tree `oid`, else `ETag`). */
  checksum(f: { sha256: string | null; blobId: string | null }, r: ResolvedFile): Checksum | null {
    const sha256 = f.sha256 ?? (r.linkedEtag && /^[0-9a-f]{64}$/.test(r.linkedEtag) ? r.linkedEtag : null);
    if (sha256) return { algo: 'sha256', expected: sha256 };
    const blob = f.blobId ?? (r.etag && /^[0-9a-f]{40}$/.test(r.etag) ? r.etag : null);
    if (blob) return { algo: 'git-blob-sha1', expected: blob };
    return null;
  }
}

/** Maps a Hub HTTP status onto an error that says what to do. */
export function hubHttpError(status: number, what: string, repo?: string): AimaError {
  if (status === 401 || status === 403) {
    return new AimaError('forbidden', `Could not ${what}: the Hub answered ${status}${repo ? ` (${repo} is gated or private)` : ''}.`, 'Accept the model\'s terms on huggingface.co, then set a token: `aima model hf-token set` (or HF_TOKEN).');
  }
  if (status === 404) return new AimaError('not-found', `Could not ${what}: not found on the Hub (404).`, 'Check the repository id, revision and file name.');
  if (status === 429) return new AimaError('unavailable', `Could not ${what}: the Hub is rate-limiting (429).`, 'Wait a minute, or set a token (HF_TOKEN) for a higher limit.');
  return new AimaError('unavailable', `Could not ${what}: the Hub answered ${status}.`, 'Try again later.');
}

function nextLink(link: string | null): string | null {
  if (!link) return null;
  const m = /<([^>]+)>;\s*rel="next"/.exec(link);
  return m ? m[1]! : null;
}
