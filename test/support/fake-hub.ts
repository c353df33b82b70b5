/**
 * A local stand-in for the Hugging Face Hub, as documented: `/api/models?search=`, the tree API,
 * `/{repo}/resolve/{rev}/{file}` (302 to a CDN path on the same server for LFS files, with
 * X-Linked-Etag / X-Linked-Size / X-Repo-Commit; small files served directly with the git blob
 * SHA-1 as ETag) and a CDN that honours Range (206, Content-Range, 416). Faults on demand: 5xx N
 * times, connections dropped mid-body, throttling, a corrupted byte. Every request is logged.
 */
import { createHash } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import { once } from 'node:events';
import { open } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';

export interface FakeFile {
  path: string;
  /** The bytes, or a file on disk (big files for the bench). */
  content: Buffer | { file: string };
  /** LFS files go through the CDN redirect and carry a sha256; others are served directly. */
  lfs: boolean;
  /** Precomputed sha256 for `{file}` content (hashing GBs in every test is slow). */
  sha256?: string;
}

export interface RequestLog {
  method: string;
  path: string;
  range?: string;
  status: number;
  /** Bytes of body actually sent (set when the response ends). */
  sent: number;
}

export interface Faults {
  /** Answer the next N body requests (CDN or direct file) with 503. */
  fail5xx: number;
  /** Cut the connection after sending this many body bytes, for the next `dropTimes` body requests. */
  dropAfterBytes: number | null;
  dropTimes: number;
  /** Bytes per second per response; null = as fast as possible. */
  throttleBps: number | null;
  /** Flip the byte at this file offset whenever it is served. */
  corruptOffset: number | null;
  /**
   * The server's whole uplink in bytes per second, shared by all responses (a network link, unlike
   * throttleBps which limits each response); null = loopback speed.
   */
  linkBps: number | null;
}

export interface Entry {
  file: FakeFile;
  size: number;
  sha256: string;
  blobSha1: string;
}

export const FAKE_COMMIT = 'c0ffee0000000000000000000000000000000001';

export function gitBlobSha1(content: Buffer): string {
  return createHash('sha1').update(`blob ${content.length}\0`).update(content).digest('hex');
}

export class FakeHub {
  readonly log: RequestLog[] = [];
  readonly faults: Faults = { fail5xx: 0, dropAfterBytes: null, dropTimes: 0, throttleBps: null, corruptOffset: null, linkBps: null };
  /** When the emulated link is free again (performance.now() ms). */
  private linkFreeAt = 0;
  protected readonly repos = new Map<string, Map<string, Entry>>();
  private server!: http.Server | https.Server;
  url = '';

  /** `tls`: serve HTTPS with this certificate (a mirror signed by a private authority). */
  static async start<T extends FakeHub>(this: new () => T, repos: Record<string, FakeFile[]>, opts: { tls?: { key: Buffer; cert: Buffer } } = {}): Promise<T> {
    const hub = new this();
    for (const [id, files] of Object.entries(repos)) hub.addRepo(id, files);
    const handle = (req: http.IncomingMessage, res: http.ServerResponse) => hub.handle(req, res);
    hub.server = opts.tls ? https.createServer(opts.tls, handle) : http.createServer(handle);
    await new Promise<void>((r) => hub.server.listen(0, '127.0.0.1', r));
    hub.url = `${opts.tls ? 'https' : 'http'}://127.0.0.1:${(hub.server.address() as AddressInfo).port}`;
    return hub;
  }

  addRepo(id: string, files: FakeFile[]): void {
    const m = new Map<string, Entry>();
    for (const f of files) {
      const size = Buffer.isBuffer(f.content) ? f.content.length : statSync(f.content.file).size;
      const sha256 = f.sha256 ?? (Buffer.isBuffer(f.content) ? createHash('sha256').update(f.content).digest('hex') : '');
      const blobSha1 = Buffer.isBuffer(f.content) ? gitBlobSha1(f.content) : createHash('sha1').update(`pointer ${sha256}`).digest('hex');
      m.set(f.path, { file: f, size, sha256, blobSha1 });
    }
    this.repos.set(id, m);
  }

  /** Range starts (bytes) of the body requests for one file, in order. */
  rangeStarts(filePath: string): number[] {
    return this.log
      .filter((l) => l.method === 'GET' && (l.path.includes(`/cdn/`) || l.path.includes('/resolve/')) && decodeURIComponent(l.path).endsWith(filePath))
      .filter((l) => l.status === 200 || l.status === 206)
      .map((l) => (l.range ? Number(/bytes=(\d+)-/.exec(l.range)![1]) : 0));
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }

  protected handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const u = new URL(req.url ?? '/', 'http://x');
    const entry: RequestLog = { method: req.method ?? 'GET', path: u.pathname, status: 0, sent: 0, ...(req.headers.range ? { range: req.headers.range } : {}) };
    this.log.push(entry);
    const reply = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      entry.status = status;
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(body));
    };
    try {
      let m: RegExpExecArray | null;
      if (u.pathname === '/api/models') {
        const q = (u.searchParams.get('search') ?? '').toLowerCase();
        const limit = Number(u.searchParams.get('limit') ?? 20);
        const hits = [...this.repos.keys()]
          .filter((id) => id.toLowerCase().includes(q))
          .slice(0, limit)
          .map((id) => ({ _id: id, id, modelId: id, downloads: 42, likes: 7, tags: ['gguf'], lastModified: '2026-01-01T00:00:00.000Z', gated: false }));
        return reply(200, hits);
      }
      if ((m = /^\/api\/models\/([^/]+\/[^/]+)\/tree\/([^/]+)$/.exec(u.pathname))) {
        const repo = this.repos.get(m[1]!);
        if (!repo) return reply(404, { error: 'Repository not found' });
        const out: unknown[] = [];
        const dirs = new Set<string>();
        for (const e of repo.values()) {
          const parts = e.file.path.split('/');
          for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
          out.push({
            type: 'file',
            oid: e.blobSha1,
            size: e.file.lfs ? 134 : e.size,
            path: e.file.path,
            ...(e.file.lfs ? { lfs: { oid: e.sha256, size: e.size, pointerSize: 134 } } : {}),
          });
        }
        for (const d of dirs) out.push({ type: 'directory', oid: 'd'.repeat(40), size: 0, path: d });
        return reply(200, out);
      }
      if ((m = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(u.pathname))) {
        const repo = this.repos.get(m[1]!);
        const rev = decodeURIComponent(m[2]!);
        const filePath = decodeURIComponent(m[3]!);
        const e = repo?.get(filePath);
        if (!e || (rev !== 'main' && rev !== FAKE_COMMIT)) return reply(404, { error: 'Entry not found' }, { 'x-error-code': 'EntryNotFound' });
        if (e.file.lfs) {
          entry.status = 302;
          res.writeHead(302, {
            location: `/cdn/${m[1]}/${e.sha256}/${encodeURIComponent(filePath)}`,
            'x-linked-etag': `"${e.sha256}"`,
            'x-linked-size': String(e.size),
            'x-repo-commit': FAKE_COMMIT,
            etag: `"${e.sha256}"`,
          });
          return void res.end();
        }
        return this.serveBody(req, res, e, entry, `"${e.blobSha1}"`, { 'x-repo-commit': FAKE_COMMIT });
      }
      if ((m = /^\/cdn\/([^/]+\/[^/]+)\/([0-9a-f]+)\/(.+)$/.exec(u.pathname))) {
        const e = this.repos.get(m[1]!)?.get(decodeURIComponent(m[3]!));
        if (!e || e.sha256 !== m[2]) return reply(404, { error: 'not found' });
        return this.serveBody(req, res, e, entry, `"${e.sha256}"`, {});
      }
      reply(404, { error: 'not found' });
    } catch (err) {
      reply(500, { error: (err as Error).message });
    }
  }

  protected serveBody(req: http.IncomingMessage, res: http.ServerResponse, e: Entry, entry: RequestLog, etag: string, extra: Record<string, string>): void {
    const head = req.method === 'HEAD';
    if (!head && this.faults.fail5xx > 0) {
      this.faults.fail5xx--;
      entry.status = 503;
      res.writeHead(503, { 'content-type': 'text/plain' });
      return void res.end('busy');
    }
    let start = 0;
    let end = e.size - 1;
    let status = 200;
    const range = req.headers.range;
    if (range) {
      const m = /^bytes=(\d+)-(\d*)$/.exec(range);
      if (!m || Number(m[1]) >= e.size || (m[2] && Number(m[2]) < Number(m[1]))) {
        entry.status = 416;
        res.writeHead(416, { 'content-range': `bytes */${e.size}` });
        return void res.end();
      }
      start = Number(m[1]);
      end = m[2] ? Math.min(Number(m[2]), e.size - 1) : e.size - 1;
      status = 206;
    }
    const headers: Record<string, string> = {
      etag,
      'accept-ranges': 'bytes',
      'content-type': 'application/octet-stream',
      'content-length': String(end - start + 1),
      ...extra,
      ...(status === 206 ? { 'content-range': `bytes ${start}-${end}/${e.size}` } : {}),
    };
    entry.status = status;
    res.writeHead(status, headers);
    if (head) return void res.end();
    const f = this.faults;
    const drop = f.dropAfterBytes !== null && f.dropTimes > 0 ? f.dropAfterBytes : null;
    if (drop !== null) f.dropTimes--;
    if (drop === null && f.throttleBps === null && f.corruptOffset === null && !Buffer.isBuffer(e.file.content)) {
      // Fast path (the bench): the kernel's pipe from page cache to socket.
      const s = createReadStream(e.file.content.file, { start, end, highWaterMark: 1024 * 1024 });
      const link = f.linkBps;
      if (link === null) {
        s.on('data', (d) => (entry.sent += d.length));
        s.pipe(res);
        return;
      }
      // An emulated network link: one queue for every response, so parallel connections share it.
      s.on('data', (d) => {
        entry.sent += d.length;
        const drained = res.write(d);
        const now = performance.now();
        this.linkFreeAt = Math.max(now, this.linkFreeAt) + (d.length / link) * 1000;
        const wait = this.linkFreeAt - now;
        if (drained && wait <= 2) return;
        s.pause();
        void Promise.all([drained ? null : once(res, 'drain'), new Promise((r) => setTimeout(r, wait))]).then(() => s.resume());
      });
      s.on('end', () => res.end());
      s.on('error', () => res.destroy());
      res.on('close', () => s.destroy());
      return;
    }
    void this.pace(res, e, start, end, drop, entry);
  }

  private async pace(res: http.ServerResponse, e: Entry, start: number, end: number, drop: number | null, entry: RequestLog): Promise<void> {
    const piece = 64 * 1024;
    const content = e.file.content;
    const fh = Buffer.isBuffer(content) ? null : await open(content.file, 'r');
    try {
      for (let pos = start; pos <= end; ) {
        if (res.destroyed) return;
        let n = Math.min(piece, end - pos + 1);
        if (drop !== null && entry.sent + n > drop) n = drop - entry.sent;
        let buf: Buffer;
        if (Buffer.isBuffer(content)) buf = Buffer.from(content.subarray(pos, pos + n));
        else {
          buf = Buffer.alloc(n);
          await fh!.read(buf, 0, n, pos);
        }
        const c = this.faults.corruptOffset;
        if (c !== null && c >= pos && c < pos + n) buf[c - pos] ^= 0xff;
        if (n > 0) {
          entry.sent += n;
          if (!res.write(buf)) await new Promise((r) => res.once('drain', r));
        }
        pos += n;
        if (drop !== null && entry.sent >= drop) {
          // Let the bytes leave, then cut the connection mid-body.
          await new Promise((r) => setTimeout(r, 20));
          res.socket?.destroy();
          return;
        }
        const bps = this.faults.throttleBps;
        if (bps) await new Promise((r) => setTimeout(r, (n / bps) * 1000));
      }
      res.end();
    } finally {
      await fh?.close();
    }
  }
}
