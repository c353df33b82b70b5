/**
 * ModelScope's hub API, as much as AIMA needs, in the shapes the `modelscope` Python SDK
 * (modelscope/hub/api.py, file_download.py, errors.py) uses:
 *
 * - every answer is an envelope `{Code, Data, Message, RequestId, Success}`; `Code` 200 with
 *   `Success` true is success, anything else carries the reason in `Message`;
 * - files: `GET /api/v1/models/{owner}/{name}/repo/files?Revision=…&Recursive=True` →
 *   `Data.Files[]` of `{Name, Path, Type: 'blob'|'tree', Size, Sha256, IsLFS, Revision}`
 *   (`.gitattributes`/`.gitignore` are left out, as the SDK does); every blob's `Sha256` is the
 *   sha256 of its content, which the SDK checks after a download;
 * - a file's bytes: `GET /api/v1/models/{owner}/{name}/repo?Revision=…&FilePath=…`, with Range
 *   (the SDK only ever GETs it, so it is probed with a one-byte ranged GET, not HEAD);
 * - search: `PUT /api/v1/dolphin/models` with `{Name, PageSize, PageNumber, SortBy, Target,
 *   Criterion, SingleCriterion}` → `Data.Model.{Models[], TotalCount}`, each model with `Path`
 *   (the owner), `Name`, `Downloads`, `Stars`, `LastUpdatedTime`, `Libraries`, `Tasks`. This is
 *   the endpoint modelscope.cn's own search page calls; it is not in the SDK, and its shape is
 *   taken from third-party clients (docs/downloads.md says which).
 *
 * The endpoint is MODELSCOPE_ENDPOINT (default https://www.modelscope.cn); requests go through the
 * environment's proxy. Downloads are anonymous: public repositories need no login.
 */
import { hubSourceLabels } from '../../shared/contract/enums.js';
import type { HubFile, HubModelHit } from '../../shared/contract/index.js';
import { AimaError } from '../../shared/errors.js';
import type { ModelHub } from './hub.js';
import { hubJson, hubRequest, type HubHttpOptions } from './hub-http.js';
import type { Checksum } from './prefix-hasher.js';

export const DEFAULT_MODELSCOPE_ENDPOINT = 'https://www.modelscope.cn';

export interface ModelScopeHubOptions {
  endpoint?: string;
  timeoutMs?: number;
}

interface Envelope<T> {
  Code?: number;
  Success?: boolean;
  Message?: string;
  RequestId?: string;
  Data?: T | null;
}

interface RawFile {
  Name?: string;
  Path?: string;
  Type?: string;
  Size?: number;
  Sha256?: string | null;
  IsLFS?: boolean;
}

interface RawModel {
  Path?: string;
  Name?: string;
  Downloads?: number;
  Stars?: number;
  LastUpdatedTime?: number | string;
  Libraries?: string[];
  Tasks?: Array<{ Name?: string } | string>;
}

/** Files the SDK leaves out of a listing: git's own, not part of a model. */
const GIT_FILES = new Set(['.gitattributes', '.gitignore']);

export class ModelScopeHub implements ModelHub {
  readonly source = 'modelscope' as const;
  readonly label = hubSourceLabels.modelscope;
  readonly defaultRevision = 'master';
  readonly folder = 'modelscope';
  readonly probe = 'get' as const;
  readonly endpoint: string;
  private readonly http: HubHttpOptions;

  constructor(opts: ModelScopeHubOptions = {}) {
    this.endpoint = (opts.endpoint ?? DEFAULT_MODELSCOPE_ENDPOINT).replace(/\/+$/, '');
    this.http = { endpoint: this.endpoint, endpointVariable: 'MODELSCOPE_ENDPOINT', timeoutMs: opts.timeoutMs, statusError: modelScopeHttpError };
  }

  authHeaders(): Record<string, string> {
    return {};
  }

  /** `PUT /api/v1/dolphin/models`; `filter` becomes a `libraries contains` criterion (as `gguf`). */
  async search(query: string, filter: string | undefined, limit: number): Promise<HubModelHit[]> {
    const what = 'search ModelScope';
    const body = {
      Name: query,
      PageSize: limit,
      PageNumber: 1,
      SortBy: 'Default',
      Target: '',
      SingleCriterion: [],
      Criterion: filter ? [{ category: 'libraries', predicate: 'contains', values: [filter] }] : [],
    };
    const res = await hubRequest(this.http, { url: `${this.endpoint}/api/v1/dolphin/models`, what, method: 'PUT', json: body });
    const data = this.unwrap<{ Model?: { Models?: RawModel[] | null } | null }>((await hubJson(this.http, res, what)) as Envelope<never>, what);
    return (data?.Model?.Models ?? []).filter((m) => m.Path && m.Name).slice(0, limit).map(toHit);
  }

  /** `GET /api/v1/models/{repo}/repo/files?Revision=…&Recursive=True`: the blobs, with `Size` and `Sha256`. */
  async listFiles(repo: string, revision: string): Promise<HubFile[]> {
    const what = `list the files of ${repo} on ModelScope`;
    const u = `${this.endpoint}/api/v1/models/${repo}/repo/files?Revision=${encodeURIComponent(revision)}&Recursive=True`;
    const res = await hubRequest(this.http, { url: u, what, repo });
    const data = this.unwrap<{ Files?: RawFile[] | null }>((await hubJson(this.http, res, what)) as Envelope<never>, what, repo);
    const files: HubFile[] = [];
    for (const f of data?.Files ?? []) {
      const p = f.Path ?? f.Name;
      if (f.Type === 'tree' || !p || GIT_FILES.has(p)) continue;
      files.push({ path: p, size: Number(f.Size ?? 0), ...(f.Sha256 && /^[0-9a-f]{64}$/i.test(f.Sha256) ? { sha256: f.Sha256.toLowerCase() } : {}) });
    }
    return files;
  }

  /** `{endpoint}/api/v1/models/{repo}/repo?Revision=…&FilePath=…` (302 to a CDN for LFS files). */
  fileUrl(repo: string, revision: string, filePath: string): string {
    return `${this.endpoint}/api/v1/models/${repo}/repo?Revision=${encodeURIComponent(revision)}&FilePath=${encodeURIComponent(filePath)}`;
  }

  /** The listing's `Sha256`, for every file; ModelScope's file answers carry no checksum header to fall back on. */
  checksum(f: { sha256: string | null }): Checksum | null {
    return f.sha256 ? { algo: 'sha256', expected: f.sha256 } : null;
  }

  /** The envelope's `Data`, or the error its `Code`/`Message` say (ModelScope answers some failures with HTTP 200). */
  private unwrap<T>(body: Envelope<T>, what: string, repo?: string): T | null | undefined {
    if (body && typeof body === 'object' && body.Code === 200 && body.Success !== false) return body.Data;
    throw envelopeError(body, what, repo);
  }
}

function toHit(m: RawModel): HubModelHit {
  const tasks = (m.Tasks ?? []).map((t) => (typeof t === 'string' ? t : t.Name)).filter((t): t is string => Boolean(t));
  const t = Number(m.LastUpdatedTime);
  return {
    id: `${m.Path}/${m.Name}`,
    ...(m.Downloads !== undefined ? { downloads: m.Downloads } : {}),
    ...(m.Stars !== undefined ? { likes: m.Stars } : {}),
    ...(Number.isFinite(t) && t > 0 ? { lastModified: new Date(t * 1000).toISOString() } : {}),
    tags: [...(m.Libraries ?? []), ...tasks],
  };
}

const reason = (body: string) => {
  try {
    const m = (JSON.parse(body) as Envelope<unknown>).Message;
    return typeof m === 'string' && m ? ` (${m})` : '';
  } catch {
    return '';
  }
};

/** Maps a ModelScope HTTP status onto an error that says what to do. */
export function modelScopeHttpError(status: number, what: string, repo: string | undefined, body: string): AimaError {
  if (status === 404) return new AimaError('not-found', `Could not ${what}: not found on ModelScope (404)${reason(body)}.`, 'Check the repository id (owner/name as on modelscope.cn), the revision (ModelScope\'s default branch is master) and the file name.');
  if (status === 401 || status === 403) {
    return new AimaError('forbidden', `Could not ${what}: ModelScope answered ${status}${repo ? ` (${repo} is private or needs a login)` : ''}${reason(body)}.`, 'AIMA downloads public ModelScope repositories only; pick a public one, or download it with the modelscope CLI and `aima model import` the folder.');
  }
  if (status === 429) return new AimaError('unavailable', `Could not ${what}: ModelScope is rate-limiting (429).`, 'Wait a minute and try again.');
  return new AimaError('unavailable', `Could not ${what}: ModelScope answered ${status}${reason(body)}.`, 'Try again later, or set MODELSCOPE_ENDPOINT to a mirror.');
}

/** A failure ModelScope reported in the envelope of an HTTP 200 answer. */
function envelopeError(body: Envelope<unknown>, what: string, repo?: string): AimaError {
  const message = body && typeof body === 'object' && typeof body.Message === 'string' ? body.Message : 'no message';
  const code = body && typeof body === 'object' ? body.Code : undefined;
  if (/not.?exist|not.?found/i.test(message)) return new AimaError('not-found', `Could not ${what}: ModelScope says "${message}"${repo ? ` for ${repo}` : ''}.`, 'Check the repository id (owner/name as on modelscope.cn) and the revision (ModelScope\'s default branch is master).');
  return new AimaError('unavailable', `Could not ${what}: ModelScope answered code ${code ?? '?'}: "${message}".`, 'Try again later, or set MODELSCOPE_ENDPOINT to a mirror.');
}
