/**
 * The head of an HTTP/1.x response, as range-connection.ts reads it off the socket itself, and
 * the checks a range download makes of it: judgeRangeResponse for both HTTP clients (node:http
 * parses its own heads, http-range.ts).
 */
import { GeneralClientNeeded, statusError, TransferError } from './transfer-error.js';

export interface ResponseHead {
  status: number;
  /** Lower-case names; repeated headers joined with ", " (as node:http does for most). */
  headers: Record<string, string>;
  /** The server keeps the connection open for the next request (HTTP/1.1 without `Connection: close`). */
  keepAlive: boolean;
}

/** Parses `HTTP/1.1 206 Partial Content\r\nName: value\r\n...` (without the blank line). */
export function parseResponseHead(text: string): ResponseHead {
  const lines = text.split('\r\n');
  const m = /^HTTP\/1\.([01]) (\d{3})(?: .*)?$/.exec(lines[0] ?? '');
  if (!m) throw new TransferError(`not an HTTP/1.x response: "${(lines[0] ?? '').slice(0, 80)}"`, true);
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0) throw new TransferError(`malformed response header line: "${line.slice(0, 80)}"`, true);
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
  }
  const connection = (headers.connection ?? '').toLowerCase();
  const keepAlive = m[1] === '1' ? !/\bclose\b/.test(connection) : /\bkeep-alive\b/.test(connection);
  return { status: Number(m[2]), headers, keepAlive };
}

/**
 * The body has a length we can count (Content-Length, no transfer coding). Anything else (chunked)
 * is legal HTTP that this reader leaves to node:http: the transfer falls back to it.
 */
export class UnsupportedFramingError extends GeneralClientNeeded {
  constructor(readonly detail: string) {
    super(`the server's response framing (${detail}) needs the general HTTP client`);
    this.name = 'UnsupportedFramingError';
  }
}

/**
 * What a range GET does with a response: follow a redirect or take its body, else it throws.
 * `start`/`end` are the requested bytes (inclusive); a whole-file request may take HTTP 200.
 * Both HTTP clients (http-range.ts, range-connection.ts) judge with it.
 */
export type HeadVerdict = { kind: 'redirect'; location: string } | { kind: 'body' };

export function judgeRangeResponse(head: { status: number; headers: { location?: string; 'content-range'?: string } }, url: string, start: number, end: number, wholeFile: boolean): HeadVerdict {
  const { status, headers } = head;
  if (status >= 300 && status < 400 && headers.location) return { kind: 'redirect', location: new URL(headers.location, url).toString() };
  const host = new URL(url).host;
  if (status === 200 && !(start === 0 && wholeFile)) throw new TransferError(`${host} ignored the Range request (HTTP 200 instead of 206)`, false, 200);
  if (status !== 206 && status !== 200) throw statusError(status, url);
  if (status === 206) {
    const m = /^bytes (\d+)-(\d+)\//.exec(headers['content-range'] ?? '');
    if (!m || Number(m[1]) !== start) throw new TransferError(`unexpected Content-Range "${headers['content-range']}" for bytes=${start}-${end}`, true, 206);
  }
  return { kind: 'body' };
}

/** The body's length in bytes, for a reader that counts it itself (no transfer coding). */
export function countedBodyLength(head: ResponseHead): number {
  const { headers } = head;
  const coding = headers['transfer-encoding'];
  if (coding && coding.toLowerCase() !== 'identity') throw new UnsupportedFramingError(`Transfer-Encoding: ${coding}`);
  const length = headers['content-length'];
  if (length === undefined || !/^\d+$/.test(length)) throw new UnsupportedFramingError(length === undefined ? 'no Content-Length' : `Content-Length: ${length}`);
  return Number(length);
}
