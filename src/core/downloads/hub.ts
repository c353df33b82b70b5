/**
 * The Hugging Face Hub's HTTP API, as much as AIMA needs: model search, a repository's file tree
 * (sizes, LFS sha256, git blob ids) and resolve URLs. The endpoint comes from HF_ENDPOINT (a mirror
 * works unchanged); a token, when set, goes in the Authorization header for gated repositories.
 * Requests go through the environment's proxy (proxy.ts).
 */
import type { HubFile, HubModelHit } from '../../shared/contract/index.js';
import { AimaError } from '../../shared/errors.js';
import { describeProxy, fetchVia, proxyFor, type ProxyConfigError, type ProxyRoute } from './proxy.js';
import { PROXY_LOGIN_FIX, untrustedCertificate, UNTRUSTED_CERTIFICATE_FIX } from './transfer-error.js';

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

export class HubClient {
  readonly endpoint: string;
  constructor(private readonly opts: HubClientOptions = {}) {
    this.endpoint = (opts.endpoint ?? DEFAULT_HF_ENDPOINT).replace(/\/+$/, '');
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
    const hits = (await this.getJson(u.toString(), 'search the Hub')) as RawHit[];
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
      const res = await this.request(next, `list the files of ${repo}`, repo);
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
  resolveUrl(repo: string, revision: string, filePath: string): string {
    return `${this.endpoint}/${repo}/resolve/${encodeURIComponent(revision)}/${encodePath(filePath)}`;
  }

  private async getJson(url: string, what: string, repo?: string): Promise<unknown> {
    const res = await this.request(url, what, repo);
    return res.json();
  }

  private async request(url: string, what: string, repo?: string): Promise<Response> {
    let res: Response;
    let route: ProxyRoute | null;
    try {
      route = proxyFor(url);
    } catch (err) {
      throw new AimaError('bad-request', `Could not ${what}: ${(err as Error).message}`, (err as ProxyConfigError).fix);
    }
    try {
      res = await fetchVia(route, url, { headers: { accept: 'application/json', ...this.authHeaders() }, signal: AbortSignal.timeout(this.opts.timeoutMs ?? 30_000) });
    } catch (err) {
      const cert = untrustedCertificate(err);
      if (cert) throw new AimaError('unavailable', `Could not ${what}: the TLS certificate of ${this.endpoint} is not trusted (${cert.message}).`, UNTRUSTED_CERTIFICATE_FIX);
      const why = causes(err);
      // undici reports a proxy's 407 to a CONNECT as an error, not a response.
      if (route && /\b407\b/.test(why)) throw proxyLoginError(route, what);
      if (route) throw new AimaError('unavailable', `Could not ${what}: ${this.endpoint} is unreachable through ${describeProxy(route)} (${why}).`, `Check that the proxy runs and ${route.variable} is right, or list ${new URL(url).hostname} in NO_PROXY.`);
      throw new AimaError('unavailable', `Could not ${what}: ${this.endpoint} is unreachable (${why}).`, 'Check the network, or set HF_ENDPOINT to a reachable mirror.');
    }
    if (res.ok) return res;
    if (res.status === 407 && route) throw proxyLoginError(route, what);
    throw hubHttpError(res.status, what, repo);
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

const proxyLoginError = (route: ProxyRoute, what: string) => new AimaError('unauthorized', `Could not ${what}: ${describeProxy(route)} asked for a login (HTTP 407).`, PROXY_LOGIN_FIX);

/** "fetch failed (connect ECONNREFUSED …)": fetch's own message says little, its causes say what failed. */
function causes(err: unknown): string {
  const parts: string[] = [];
  for (let e = err; e instanceof Error && parts.length < 4; e = e.cause) parts.push(e.message);
  return parts.join(': ');
}

function nextLink(link: string | null): string | null {
  if (!link) return null;
  const m = /<([^>]+)>;\s*rel="next"/.exec(link);
  return m ? m[1]! : null;
}
