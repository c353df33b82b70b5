/**
 * node:http(s) for what the range reader (range-connection.ts) does not do: resolving a Hub file
 * (HEAD, redirects by hand so the CDN location and the Hub's checksum headers are both seen), and
 * range GETs of bodies without a Content-Length (chunked) or through a proxy (proxy.ts), streamed
 * into a sink with backpressure.
 */
import http from 'node:http';
import https from 'node:https';
import { describeProxy, proxyAgent, proxyFor } from './proxy.js';
import { judgeRangeResponse } from './response-head.js';
import { networkError, statusError, TransferError } from './transfer-error.js';

export interface ResolvedFile {
  /** Where the bytes are (the CDN location for LFS files, the resolve URL itself otherwise). */
  url: string;
  size: number | null;
  /** sha256 from X-Linked-Etag (LFS) or the git blob id from ETag, unquoted. */
  linkedEtag: string | null;
  etag: string | null;
  commit: string | null;
}

const agentOpts = { keepAlive: true, maxSockets: 16 };
const httpAgent = new http.Agent(agentOpts);
const httpsAgent = new https.Agent(agentOpts);

async function send(url: string, method: 'HEAD' | 'GET', headers: Record<string, string>, signal: AbortSignal, timeoutMs: number): Promise<http.IncomingMessage> {
  const u = new URL(url);
  const route = proxyFor(u);
  const agent = route ? await proxyAgent(route, u) : u.protocol === 'https:' ? httpsAgent : httpAgent;
  return new Promise((resolve, reject) => {
    const mod = u.protocol === 'https:' ? https : http;
    // Through a proxy, a failure to connect is most often the proxy's: the message names it and its variable.
    const where = route ? `${u.host} through ${describeProxy(route)}` : u.host;
    const req = mod.request(u, { method, headers: { 'user-agent': 'aima', ...headers }, agent, signal });
    req.setTimeout(timeoutMs, () => req.destroy(new TransferError(`no answer from ${where} in ${timeoutMs / 1000} s`, true)));
    req.on('response', resolve);
    req.on('error', (err) => reject(signal.aborted ? err : err instanceof TransferError ? err : networkError(where, err)));
    req.end();
  });
}

const unquote = (v: string | string[] | undefined) => (typeof v === 'string' ? v.replace(/^W\//, '').replace(/^"|"$/g, '') : null);

/**
 * Probes the file URL, following up to 5 redirects, keeping the hub's headers from the first
 * answer: with HEAD, or (`probe: 'get'`, for a hub whose file API answers GET only) with a GET of
 * its first byte whose body is dropped unread.
 */
export async function resolveFile(url: string, headers: Record<string, string>, signal: AbortSignal, timeoutMs = 30_000, probe: 'head' | 'get' = 'head'): Promise<ResolvedFile> {
  let current = url;
  let first: http.IncomingHttpHeaders | null = null;
  const method = probe === 'get' ? 'GET' : 'HEAD';
  const ranged: Record<string, string> = probe === 'get' ? { range: 'bytes=0-0', 'accept-encoding': 'identity' } : {};
  for (let hop = 0; hop < 6; hop++) {
    const res = await send(current, method, hop === 0 ? { ...headers, ...ranged } : ranged, signal, timeoutMs);
    // A GET's body (one byte, or all of it from a server ignoring Range) is not wanted.
    if (method === 'GET') res.destroy();
    else res.resume();
    first ??= res.headers;
    const status = res.statusCode ?? 0;
    if (status >= 300 && status < 400 && res.headers.location) {
      current = new URL(res.headers.location, current).toString();
      continue;
    }
    if (status < 200 || status >= 300) throw statusError(status, current);
    const ofRange = /\/(\d+)$/.exec(String(res.headers['content-range'] ?? ''));
    const linkedSize = first['x-linked-size'] ?? (ofRange ? ofRange[1] : res.headers['content-length']);
    return {
      url: current,
      size: linkedSize ? Number(linkedSize) : null,
      linkedEtag: unquote(first['x-linked-etag']),
      etag: unquote(first.etag),
      commit: typeof first['x-repo-commit'] === 'string' ? first['x-repo-commit'] : null,
    };
  }
  throw new TransferError(`too many redirects from ${url}`, false);
}

/**
 * GETs bytes [start, end] (inclusive) of `url` and hands each piece to `sink` in order, waiting for
 * it (backpressure). Resolves when the whole range arrived; a short body is a retryable error.
 */
export async function fetchRange(
  url: string,
  start: number,
  end: number,
  opts: { headers?: Record<string, string>; signal: AbortSignal; timeoutMs?: number; wholeFile?: boolean },
  /** Takes each piece in order; a returned promise pauses the socket until it settles (backpressure). */
  sink: (piece: Buffer) => Promise<void> | undefined,
): Promise<void> {
  const headers = { ...opts.headers, range: `bytes=${start}-${end}`, 'accept-encoding': 'identity' };
  let current = url;
  let res: http.IncomingMessage | null = null;
  for (let hop = 0; ; hop++) {
    if (hop > 5) throw new TransferError(`too many redirects from ${url}`, false);
    res = await send(current, 'GET', hop === 0 ? headers : { range: headers.range, 'accept-encoding': 'identity' }, opts.signal, opts.timeoutMs ?? 30_000);
    let verdict;
    try {
      verdict = judgeRangeResponse({ status: res.statusCode ?? 0, headers: res.headers }, current, start, end, opts.wholeFile ?? false);
    } catch (err) {
      res.destroy();
      throw err;
    }
    if (verdict.kind === 'body') break;
    res.resume();
    current = verdict.location;
  }
  const want = end - start + 1;
  let got = 0;
  // The socket idles while the sink waits (backpressure), so the idle timeout only counts the network.
  res.setTimeout(opts.timeoutMs ?? 30_000, () => res!.destroy(new TransferError(`the transfer from ${new URL(current).host} stalled`, true)));
  // 'data' events with pause/resume instead of an async iterator: one promise per write, not per
  // 64 KiB piece, which is most of the CPU cost at GB/s.
  let onAbort: (() => void) | null = null;
  // The sink's own failure (a full disk) is not a network failure: it goes out as it is, unretried.
  let sinkFailed = false;
  try {
    await new Promise<void>((resolve, reject) => {
      const r = res!;
      let failed = false;
      const fail = (err: unknown) => {
        if (failed) return;
        failed = true;
        reject(err);
      };
      r.on('data', (piece: Buffer) => {
        if (failed || got >= want) return;
        const take = got + piece.length > want ? piece.subarray(0, want - got) : piece;
        got += take.length;
        const pending = sink(take);
        if (pending) {
          r.pause();
          pending.then(
            () => {
              if (got >= want) resolve();
              else r.resume();
            },
            (err: unknown) => {
              sinkFailed = true;
              fail(err);
            },
          );
        } else if (got >= want) resolve();
      });
      r.on('end', () => resolve());
      r.on('error', fail);
      r.on('close', () => resolve());
      onAbort = () => fail(opts.signal.reason);
      opts.signal.addEventListener('abort', onAbort, { once: true });
    });
  } catch (err) {
    if (opts.signal.aborted || sinkFailed) throw err;
    throw err instanceof TransferError ? err : new TransferError(`connection lost after ${got} of ${want} bytes (${(err as Error).message})`, true);
  } finally {
    if (onAbort) opts.signal.removeEventListener('abort', onAbort);
    res.destroy();
  }
  if (got < want) throw new TransferError(`connection closed after ${got} of ${want} bytes`, true);
}
