/**
 * One HTTP/1.1 connection that GETs byte ranges straight into memory it owns, for the download
 * transfer. node:http reads each socket piece into a fresh buffer and its parser copies the body
 * into another (`Buffer::Copy` in `on_body`): at GB/s those allocations and copies cost more CPU
 * than the rest of the transfer (docs/downloads.md has the measurements). Here the socket reads (`onread`, also under TLS) land in one of two 1 MiB buffers, a
 * read at a time appended after the last, and a full buffer goes to the sink as it is: no copy and
 * no allocation per read, one file write per MiB.
 *
 * It speaks only what a range download needs: GET, Content-Length bodies, redirects, keep-alive
 * across the ranges of one file, direct connections. A body framed otherwise (chunked) or a URL
 * behind a proxy throws GeneralClientNeeded, and the transfer takes node:http for it (http-range.ts).
 */
import net from 'node:net';
import tls from 'node:tls';
import { countedBodyLength, judgeRangeResponse, parseResponseHead } from './response-head.js';
import { proxyFor } from './proxy.js';
import { GeneralClientNeeded, networkError, TransferError } from './transfer-error.js';

/**
 * Takes body bytes in order. They sit in the connection's buffer: write them (or copy them) before
 * returning, or before the returned promise settles; the memory takes socket reads again after.
 */
export type BodySink = (bytes: Buffer) => Promise<void> | undefined;

export interface RangeConnectionOptions {
  /** Sent with every request (authorization for gated repos), besides Host, Range and the rest. */
  headers?: Record<string, string>;
  /** Aborting closes the socket; a running request rejects with the signal's reason. */
  signal: AbortSignal;
  /** No answer or no data for this long fails the request (retryable). */
  timeoutMs?: number;
  /** Size of each of the two read buffers: how many bytes the sink gets at a time. */
  bufferBytes?: number;
  /** Hands over what arrived after this long even when the buffer is not full (slow links). */
  flushAfterMs?: number;
}

const MiB = 1024 * 1024;
const HEAD_END = Buffer.from('\r\n\r\n');

interface Request {
  url: string;
  start: number;
  end: number;
  wholeFile: boolean;
  sink: BodySink;
  /** Went out on a kept-alive socket: if that closes before any answer, the server had dropped it. */
  reused: boolean;
  answered: boolean;
  phase: 'head' | 'body';
  /** Body bytes received, and still to come. */
  got: number;
  left: number;
  /** The body is shorter than the range asked for (the server capped it): the range is retried from its end. */
  short: boolean;
  /** Sink promises not settled yet. */
  writes: number;
  /** Decided, waiting for the writes to settle: a redirect target (or null: done), or an error. */
  outcome: Outcome | null;
  settle(outcome: Outcome): void;
}

type Outcome = { error: unknown } | { redirect: string | null };

export class RangeConnection {
  private socket: net.Socket | null = null;
  private origin = '';
  /** The socket finished a response cleanly and the server keeps it open. */
  private reusable = false;
  /** Two read buffers; the second is allocated only for a sink that writes asynchronously. */
  private readonly bufs: Buffer[] = [];
  private readonly busy = [false, false];
  private cur = 0;
  /** Bytes in the current buffer (the head, then body bytes not yet handed over). */
  private filled = 0;
  /** The current buffer waits for the other one's write: the socket is paused, and reads on into the other one. */
  private handOffPending = false;
  private lastHandOff = 0;
  private req: Request | null = null;
  private readonly bufferBytes: number;
  private readonly flushAfterMs: number;
  private readonly timeoutMs: number;
  private readonly onAbort = () => this.fail(this.o.signal.reason);

  constructor(private readonly o: RangeConnectionOptions) {
    this.bufferBytes = o.bufferBytes ?? MiB;
    this.flushAfterMs = o.flushAfterMs ?? 250;
    this.timeoutMs = o.timeoutMs ?? 30_000;
    for (const [name, value] of Object.entries(o.headers ?? {})) {
      if (/[\r\n]/.test(name + value)) throw new TransferError(`the request header "${name}" contains a line break; fix the token or setting that supplied it`, false);
    }
    this.bufs.push(Buffer.allocUnsafe(this.bufferBytes));
    o.signal.addEventListener('abort', this.onAbort, { once: true });
  }

  /**
   * GETs bytes [start, end] (inclusive) of `url` into `sink`, following redirects. Resolves when
   * the whole range is in the sink. A cut or short body rejects (retryable) after what arrived went
   * to the sink; the sink's own failure rejects with its error as it is. One request at a time.
   */
  async get(url: string, start: number, end: number, wholeFile: boolean, sink: BodySink): Promise<void> {
    let current = url;
    for (let hop = 0; hop <= 5; hop++) {
      const redirect = await this.request(current, start, end, wholeFile, sink);
      if (redirect === null) return;
      current = redirect;
    }
    throw new TransferError(`too many redirects from ${url}`, false);
  }

  close(): void {
    this.o.signal.removeEventListener('abort', this.onAbort);
    this.dropSocket();
  }

  private async request(url: string, start: number, end: number, wholeFile: boolean, sink: BodySink): Promise<string | null> {
    const u = new URL(url);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new TransferError(`cannot download from ${u.protocol} addresses (${url})`, false);
    if (proxyFor(u)) throw new GeneralClientNeeded(`${u.host} is reached through a proxy`);
    for (;;) {
      if (this.o.signal.aborted) throw this.o.signal.reason;
      // Every write of the last request settled: reads start at the top of a free buffer.
      this.filled = 0;
      this.handOffPending = false;
      const reused = this.socket !== null && this.reusable && this.origin === u.origin && !this.socket.destroyed;
      if (!reused) this.connect(u);
      this.reusable = false;
      const outcome = await new Promise<Outcome>((settle) => {
        this.req = { url, start, end, wholeFile, sink, reused, answered: false, phase: 'head', got: 0, left: 0, short: false, writes: 0, outcome: null, settle };
        this.send(u, start, end);
      });
      this.req = null;
      if ('redirect' in outcome) return outcome.redirect;
      // A kept-alive socket the server closed meanwhile: one more go on a fresh one, not a retry.
      if (!(outcome.error instanceof StaleSocketError)) throw outcome.error;
    }
  }

  private connect(u: URL): void {
    this.dropSocket();
    const host = u.hostname.replace(/^\[|\]$/g, '');
    const port = Number(u.port) || (u.protocol === 'https:' ? 443 : 80);
    // The next read lands where the last one ended, or at the top of the other buffer after a hand-off.
    const onread = { buffer: () => this.readTarget(), callback: (n: number) => this.onRead(n) };
    // `onread` works under TLS too (the TLS socket reads through a net.Socket's options), though
    // @types/node leaves it out of tls.ConnectionOptions.
    const tlsOptions: tls.ConnectionOptions & Pick<net.TcpSocketConnectOpts, 'onread'> = { host, port, servername: net.isIP(host) ? undefined : host, ALPNProtocols: ['http/1.1'], onread };
    const socket = u.protocol === 'https:' ? tls.connect(tlsOptions) : net.connect({ host, port, onread });
    this.socket = socket;
    this.origin = u.origin;
    const mine =
      <A extends unknown[]>(fn: (...args: A) => void) =>
      (...args: A) => {
        if (socket === this.socket) fn(...args);
      };
    socket.setNoDelay(true);
    socket.setTimeout(
      this.timeoutMs,
      mine(() => {
        // Paused for the disk is not a stall of the network.
        if (this.handOffPending) return;
        this.fail(new TransferError(this.req?.answered ? `the transfer from ${u.host} stalled` : `no answer from ${u.host} in ${this.timeoutMs / 1000} s`, true));
      }),
    );
    socket.on(
      'error',
      mine((err: Error) => this.lost(networkError(u.host, err))),
    );
    const closed = mine(() => this.lost(new TransferError(this.req?.phase === 'body' ? `connection closed after ${this.req.got} of ${this.req.got + this.req.left} bytes` : `${u.host} closed the connection before answering`, true)));
    socket.on('end', closed);
    socket.on('close', closed);
    // Flowing, so the end of the stream is reported ('end') although no data goes through the stream.
    socket.resume();
  }

  private send(u: URL, start: number, end: number): void {
    const extra = Object.entries(this.o.headers ?? {})
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('');
    this.socket!.write(`GET ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${u.host}\r\nUser-Agent: aima\r\nAccept-Encoding: identity\r\nRange: bytes=${start}-${end}\r\n${extra}\r\n`);
    // Paused after the last response if its final hand-off had to wait.
    this.socket!.resume();
  }

  private dropSocket(): void {
    const s = this.socket;
    this.socket = null;
    this.reusable = false;
    s?.destroy();
  }

  /** The socket failed or closed under a running request. */
  private lost(error: TransferError): void {
    const r = this.req;
    if (!r || r.outcome) return this.dropSocket();
    this.fail(error.retryable && r.reused && !r.answered ? new StaleSocketError(error.message) : error);
  }

  private readTarget(): Buffer {
    return this.handOffPending ? this.other() : this.bufs[this.cur]!.subarray(this.filled);
  }

  private other(): Buffer {
    const i = 1 - this.cur;
    this.bufs[i] ??= Buffer.allocUnsafe(this.bufferBytes);
    return this.bufs[i]!;
  }

  /** `n` more bytes landed at `filled` in the current buffer. Returns false to pause the socket. */
  private onRead(n: number): boolean {
    const r = this.req;
    if (!r || r.outcome) {
      // Bytes nobody asked for: the connection cannot be trusted with the next request.
      this.dropSocket();
      return false;
    }
    r.answered = true;
    this.filled += n;
    try {
      let fresh = n;
      if (r.phase === 'head') {
        const body = this.readHead(r);
        if (body === null) return !r.outcome;
        fresh = body;
      }
      return this.takeBody(r, fresh);
    } catch (err) {
      this.fail(err);
      return false;
    }
  }

  /** Parses the head once it is complete: returns the body bytes that came with it, or null while incomplete (or redirected). */
  private readHead(r: Request): number | null {
    const buf = this.bufs[this.cur]!;
    for (;;) {
      const at = buf.subarray(0, this.filled).indexOf(HEAD_END);
      if (at < 0) {
        if (this.bufferBytes - this.filled < this.minRoom()) throw new TransferError(`the response head from ${new URL(r.url).host} is larger than ${this.bufferBytes - this.minRoom()} bytes`, false);
        return null;
      }
      const head = parseResponseHead(buf.toString('latin1', 0, at));
      buf.copyWithin(0, at + HEAD_END.length, this.filled);
      this.filled -= at + HEAD_END.length;
      // An interim answer (103 Early Hints): the real one follows.
      if (head.status >= 100 && head.status < 200) continue;
      const verdict = judgeRangeResponse(head, r.url, r.start, r.end, r.wholeFile);
      if (verdict.kind === 'redirect') {
        // Its body is not read: a fresh connection is simpler than draining it.
        this.dropSocket();
        this.finish(r, { redirect: verdict.location });
        return null;
      }
      const length = countedBodyLength(head);
      const want = r.end - r.start + 1;
      r.phase = 'body';
      r.left = Math.min(length, want);
      r.short = length < want;
      // A longer body is not read to its end: that socket cannot carry the next request.
      this.reusable = head.keepAlive && length <= want;
      this.lastHandOff = Date.now();
      return this.filled;
    }
  }

  private minRoom(): number {
    return this.bufferBytes >> 4;
  }

  /** Counts `fresh` body bytes; hands the buffer over when it is nearly full, the body is complete, or time is up. */
  private takeBody(r: Request, fresh: number): boolean {
    if (fresh >= r.left) {
      // Anything past the body is not ours (more than the server said, or more than asked): dropped.
      if (fresh > r.left) this.reusable = false;
      this.filled -= fresh - r.left;
      r.got += r.left;
      r.left = 0;
      const reading = this.handOff(r);
      const got = r.got;
      this.finish(r, r.short ? { error: new TransferError(`${new URL(r.url).host} sent ${got} of the ${r.end - r.start + 1} bytes asked for`, true) } : { redirect: null });
      return reading;
    }
    r.got += fresh;
    r.left -= fresh;
    const full = this.bufferBytes - this.filled < this.minRoom();
    if (!full && Date.now() - this.lastHandOff <= this.flushAfterMs) return true;
    return this.handOff(r);
  }

  /**
   * Gives the current buffer's bytes to the sink. A synchronous sink is done with them at once; a
   * pending one keeps the buffer busy, and reading goes on in the other one. Returns false when
   * the other is still busy: the socket pauses until that write ends.
   */
  private handOff(r: Request): boolean {
    this.lastHandOff = Date.now();
    if (this.filled === 0) return true;
    if (this.busy[1 - this.cur]) {
      this.handOffPending = true;
      return false;
    }
    const i = this.cur;
    const bytes = this.bufs[i]!.subarray(0, this.filled);
    this.filled = 0;
    let pending: Promise<void> | undefined;
    try {
      pending = r.sink(bytes);
    } catch (err) {
      this.sinkFailed(r, err);
      return false;
    }
    if (!pending) return true;
    this.busy[i] = true;
    r.writes++;
    this.other(); // allocated before the next read needs it
    this.cur = 1 - i;
    pending.then(
      () => this.writeDone(r, i),
      (err: unknown) => {
        this.sinkFailed(r, err);
        this.writeDone(r, i);
      },
    );
    return true;
  }

  private writeDone(r: Request, i: number): void {
    this.busy[i] = false;
    r.writes--;
    if (this.handOffPending) {
      // The buffer that waited goes now; reads go on in the one just written (readTarget named it).
      this.handOffPending = false;
      if (!isSinkFailure(r.outcome)) this.handOff(r);
      this.cur = i;
      this.filled = 0;
      if (!r.outcome) this.socket?.resume();
    }
    this.trySettle(r);
  }

  /** The sink failed (a full disk): that is what the caller must see, whatever else went wrong. */
  private sinkFailed(r: Request, error: unknown): void {
    this.dropSocket();
    r.outcome = { error: new SinkFailure(error) };
    this.trySettle(r);
  }

  /** Fails the running request; body bytes that arrived still go to the sink first. */
  private fail(error: unknown): void {
    const r = this.req;
    this.dropSocket();
    if (!r || r.outcome) return;
    if (r.phase === 'body' && !this.handOffPending) this.handOff(r);
    this.finish(r, { error });
  }

  private finish(r: Request, outcome: Outcome): void {
    r.outcome ??= outcome;
    this.trySettle(r);
  }

  private trySettle(r: Request): void {
    if (this.req !== r || !r.outcome || r.writes > 0 || this.handOffPending) return;
    const o = r.outcome;
    r.settle(isSinkFailure(o) ? { error: o.error.cause } : o);
  }
}

/** A kept-alive socket the server had closed: the request goes again on a fresh one. */
class StaleSocketError extends Error {}

class SinkFailure extends Error {
  constructor(override readonly cause: unknown) {
    super('the sink failed');
  }
}

const isSinkFailure = (o: Outcome | null): o is { error: SinkFailure } => o !== null && 'error' in o && o.error instanceof SinkFailure;
