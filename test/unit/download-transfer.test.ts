/**
 * The download transfer's thread plumbing: where its script comes from (a missing build), what a
 * thread that dies does to a running transfer, and the shared progress counters the hasher and the
 * manager read; the transfer's fall-back to node:http for chunked bodies, run on the real thread.
 */
import { describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { FileProgress } from '../../src/core/downloads/file-progress.js';
import { transferThreadEntry } from '../../src/core/downloads/feature.js';
import { createTransfers } from '../../src/core/downloads/transfer-thread.js';
import { repoRoot } from '../support/system.js';
import { transferThreadScript } from '../support/transfer-thread.js';

const plan = (partPath: string) => ({ url: 'http://127.0.0.1:9/x', headers: {}, partPath, connections: 1, wholeFile: true, retry: { baseMs: 1, maxMs: 1, maxAttempts: 0 } });

describe('transfer thread entry', () => {
  it('uses the built script, and says when the build is missing; a transfer then fails for good with the same line', async () => {
    const warnings: string[] = [];
    const warn = (l: string) => warnings.push(l);
    const built = mkdtempSync(path.join(os.tmpdir(), 'aima-build-'));
    mkdirSync(path.join(built, 'out', 'threads'), { recursive: true });
    writeFileSync(path.join(built, 'out', 'threads', 'download-transfer.mjs'), '');
    expect(transferThreadEntry(built, warn)).toBe(path.join(built, 'out', 'threads', 'download-transfer.mjs'));
    expect(warnings).toEqual([]);
    const empty = mkdtempSync(path.join(os.tmpdir(), 'aima-no-build-'));
    const missing = transferThreadEntry(empty, warn);
    expect(missing).toBe(path.join(empty, 'out', 'threads', 'download-transfer.mjs'));
    expect(warnings[0]).toMatch(/download-transfer\.mjs is missing \(build with `npm run build`\); downloads fail until it is built/);
    const transfers = createTransfers(missing);
    const progress = FileProgress.create([{ start: 0, length: 1, written: 0 }]);
    await expect(transfers.run(plan(path.join(empty, 'x.part')), progress, new AbortController().signal, { onRetry: () => undefined })).rejects.toMatchObject({
      name: 'TransferError',
      retryable: false,
      message: expect.stringMatching(/download-transfer\.mjs is missing \(build with `npm run build`\)/),
    });
    await transfers.close();
  });
});

describe('thread transfers', () => {
  it('a thread that dies fails its transfer with a retryable error naming why, and the next run starts a new thread', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'aima-thread-'));
    const entry = path.join(dir, 'dies.mjs');
    writeFileSync(entry, "throw new Error('boom at load');\n");
    const transfers = createTransfers(entry);
    const progress = FileProgress.create([{ start: 0, length: 10, written: 0 }]);
    const run = () => transfers.run(plan(path.join(dir, 'x.part')), progress, new AbortController().signal, { onRetry: () => undefined });
    await expect(run()).rejects.toMatchObject({ name: 'TransferError', retryable: true, message: expect.stringMatching(/the download thread failed: boom at load/) });
    await expect(run()).rejects.toThrow(/boom at load/);
    await transfers.close();
  });

  it('an aborted signal rejects with its reason before any thread starts', async () => {
    const transfers = createTransfers(path.join(repoRoot, 'out', 'threads', 'download-transfer.mjs'));
    const controller = new AbortController();
    controller.abort(new Error('paused by the user'));
    await expect(transfers.run(plan('/nonexistent'), FileProgress.create([{ start: 0, length: 1, written: 0 }]), controller.signal, { onRetry: () => undefined })).rejects.toThrow('paused by the user');
    await transfers.close();
  });
});

describe('transfer on the thread', () => {
  /** Answers ranges chunked (no Content-Length), as some mirrors and proxies do; the second answer (node:http's first) is cut after 100 KiB. */
  async function chunkedServer(data: Buffer) {
    const starts: number[] = [];
    const server = http.createServer((req, res) => {
      const m = /bytes=(\d+)-(\d+)/.exec(req.headers.range ?? '')!;
      const start = Number(m[1]);
      const end = Number(m[2]);
      starts.push(start);
      res.writeHead(206, { 'content-range': `bytes ${start}-${end}/${data.length}`, 'transfer-encoding': 'chunked' });
      if (starts.length === 2) {
        res.write(data.subarray(start, start + 100 * 1024));
        setTimeout(() => res.destroy(), 50);
      } else res.end(data.subarray(start, end + 1));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/f`, starts, close: () => (server.closeAllConnections(), server.close()) };
  }

  it('a chunked body goes through node:http instead; a cut one resumes after the bytes written', async () => {
    const transfers = createTransfers(await transferThreadScript());
    const data = randomBytes(3 * 1024 * 1024 + 5);
    const srv = await chunkedServer(data);
    try {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'aima-chunked-'));
      const partPath = path.join(dir, 'f.part');
      writeFileSync(partPath, Buffer.alloc(data.length));
      const progress = FileProgress.create([
        { start: 0, length: 2 * 1024 * 1024, written: 0 },
        { start: 2 * 1024 * 1024, length: data.length - 2 * 1024 * 1024, written: 0 },
      ]);
      const retries: string[] = [];
      const p = { url: srv.url, headers: {}, partPath, connections: 1, wholeFile: false, retry: { baseMs: 1, maxMs: 1, maxAttempts: 3 } };
      await transfers.run(p, progress, new AbortController().signal, { onRetry: (m) => retries.push(m) });
      expect(readFileSync(partPath).equals(data)).toBe(true);
      expect(progress.total()).toBe(data.length);
      expect(retries).toHaveLength(1);
      // RangeConnection's try, node:http's cut one, its resume after the 100 KiB written, the second chunk.
      expect(srv.starts).toEqual([0, 0, 100 * 1024, 2 * 1024 * 1024]);
    } finally {
      srv.close();
      await transfers.close();
    }
  });
});

describe('FileProgress', () => {
  it('keeps written bytes per chunk in shared memory: a second view over the same buffer sees every add', () => {
    const p = FileProgress.create([
      { start: 0, length: 100, written: 40 },
      { start: 100, length: 50, written: 0 },
    ]);
    const view = new FileProgress(p.chunks, p.buffer);
    p.add(1, 7);
    p.add(0, 2 ** 33); // beyond 32 bits: files are bigger than 4 GiB
    expect([view.get(0), view.get(1), view.total()]).toEqual([40 + 2 ** 33, 7, 47 + 2 ** 33]);
  });
});
