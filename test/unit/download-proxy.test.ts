/**
 * Downloads behind a proxy: which proxy a URL takes (HTTPS_PROXY, HTTP_PROXY, ALL_PROXY, NO_PROXY,
 * as curl reads them), the errors a bad variable gets, and real transfers, resolves and Hub API
 * calls through a real forward proxy (test/support/proxy.ts), with and without a login, and with
 * the proxy down. HTTPS through the proxy (a CONNECT tunnel) runs end to end in
 * test/integration/downloads-serve.test.ts, where the core trusts the test certificate.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { open } from 'node:fs/promises';
import { FileProgress } from '../../src/core/downloads/file-progress.js';
import { HuggingFaceHub } from '../../src/core/downloads/huggingface-hub.js';
import { resolveFile } from '../../src/core/downloads/http-range.js';
import { proxyFor } from '../../src/core/downloads/proxy.js';
import { transferFile } from '../../src/core/downloads/transfer.js';
import { FakeHub } from '../support/fake-hub.js';
import { startProxy, type TestProxy } from '../support/proxy.js';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  vi.unstubAllEnvs();
  for (const c of closers.splice(0)) await c();
});

async function proxy(opts: Parameters<typeof startProxy>[0] = {}): Promise<TestProxy> {
  const p = await startProxy(opts);
  closers.push(() => p.close());
  return p;
}

const REPO = 'aima-test/blob';
const data = randomBytes(5 * 1024 * 1024 + 3);

async function hub(): Promise<FakeHub> {
  const h = await FakeHub.start({ [REPO]: [{ path: 'model.bin', content: data, lfs: true }] });
  closers.push(() => h.close());
  return h;
}

/** Fetches the hub's model.bin in 1 MiB chunks over 2 connections, as the manager plans it. */
async function download(url: string, retry = { baseMs: 5, maxMs: 5, maxAttempts: 2 }) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'aima-proxy-'));
  const partPath = path.join(dir, 'model.bin.part');
  const fh = await open(partPath, 'w+');
  await fh.truncate(data.length);
  await fh.close();
  const MiB = 1024 * 1024;
  const chunks = Array.from({ length: Math.ceil(data.length / MiB) }, (_, i) => ({ start: i * MiB, length: Math.min(MiB, data.length - i * MiB), written: 0 }));
  const progress = FileProgress.create(chunks);
  const retries: string[] = [];
  await transferFile({ url, headers: {}, partPath, connections: 2, wholeFile: false, retry }, progress, new AbortController().signal, { onRetry: (m) => retries.push(m) });
  return { bytes: readFileSync(partPath), retries };
}

describe('which proxy a URL takes', () => {
  it('follows the scheme, lower case before upper, ALL_PROXY as the fallback, and NO_PROXY', () => {
    expect(proxyFor('https://huggingface.co/x')).toBeNull();
    vi.stubEnv('HTTPS_PROXY', 'http://upper:3128');
    vi.stubEnv('http_proxy', 'http://plain:8080');
    expect(proxyFor('https://huggingface.co/x')).toMatchObject({ variable: 'HTTPS_PROXY', proxy: new URL('http://upper:3128') });
    expect(proxyFor('http://mirror.lan/x')).toMatchObject({ variable: 'http_proxy', proxy: new URL('http://plain:8080') });
    vi.stubEnv('https_proxy', 'http://lower:3128');
    expect(proxyFor('https://huggingface.co/x')?.variable).toBe('https_proxy');
    vi.stubEnv('https_proxy', '');
    vi.stubEnv('HTTPS_PROXY', '');
    vi.stubEnv('ALL_PROXY', 'http://all:3128');
    expect(proxyFor('https://huggingface.co/x')?.variable).toBe('ALL_PROXY');
    vi.stubEnv('NO_PROXY', 'mirror.lan, .corp.example,cdn.example:8443');
    expect(proxyFor('http://mirror.lan/x')).toBeNull();
    expect(proxyFor('https://hub.corp.example/x')).toBeNull();
    expect(proxyFor('https://cdn.example:8443/x')).toBeNull();
    expect(proxyFor('https://cdn.example/x')?.variable).toBe('ALL_PROXY');
    vi.stubEnv('NO_PROXY', '*');
    expect(proxyFor('https://huggingface.co/x')).toBeNull();
  });

  it('takes a proxy without a scheme as http:// (as curl does), https:// proxies too', () => {
    vi.stubEnv('HTTPS_PROXY', 'proxy.corp:3128');
    expect(proxyFor('https://huggingface.co/x')?.proxy.href).toBe('http://proxy.corp:3128/');
    vi.stubEnv('HTTPS_PROXY', 'https://user:pa%40ss@proxy.corp:443');
    expect(proxyFor('https://huggingface.co/x')?.proxy).toMatchObject({ protocol: 'https:', username: 'user', password: 'pa%40ss' });
  });

  it('refuses a SOCKS proxy or a value that is no address, naming the variable and the fix, never the password', () => {
    vi.stubEnv('HTTPS_PROXY', 'socks5://user:secret@proxy.corp:1080');
    expect(() => proxyFor('https://huggingface.co/x')).toThrow(/HTTPS_PROXY names a socks5 proxy \(proxy\.corp:1080\); AIMA speaks to HTTP proxies only\. Set HTTPS_PROXY=http:\/\/HOST:PORT/);
    vi.stubEnv('HTTPS_PROXY', 'http://user:secret@proxy corp:3128');
    let message = '';
    try {
      proxyFor('https://huggingface.co/x');
    } catch (err) {
      message = (err as Error).message;
      expect(err).toMatchObject({ name: 'ProxyConfigError', retryable: false });
    }
    expect(message).toMatch(/HTTPS_PROXY="http:\/\/\*\*\*@proxy corp:3128" is not a URL\. Set HTTPS_PROXY=/);
    expect(message).not.toContain('secret');
  });
});

describe('transfers through a proxy', () => {
  it('fetch every range through the proxy (absolute-form requests), byte-exact, and the resolve step too', async () => {
    const h = await hub();
    const p = await proxy();
    vi.stubEnv('HTTP_PROXY', p.url);
    const resolved = await resolveFile(`${h.url}/${REPO}/resolve/main/model.bin`, {}, new AbortController().signal);
    expect(resolved.linkedEtag).toMatch(/^[0-9a-f]{64}$/);
    expect(p.seen[0]).toBe(`HEAD ${h.url}/${REPO}/resolve/main/model.bin`);
    const { bytes, retries } = await download(resolved.url);
    expect(bytes.equals(data)).toBe(true);
    expect(retries).toEqual([]);
    const gets = p.seen.filter((s) => s.startsWith('GET '));
    expect(gets).toHaveLength(6);
    expect(gets.every((s) => s === `GET ${resolved.url}`)).toBe(true);
    expect(h.log.filter((r) => r.method === 'GET').map((r) => r.range ?? '').sort()).toEqual(
      Array.from({ length: 6 }, (_, i) => `bytes=${i * 1048576}-${Math.min((i + 1) * 1048576, data.length) - 1}`).sort(),
    );
  });

  it('NO_PROXY sends the host direct: the proxy sees nothing', async () => {
    const h = await hub();
    const p = await proxy();
    vi.stubEnv('HTTP_PROXY', p.url);
    vi.stubEnv('NO_PROXY', '127.0.0.1');
    const { bytes } = await download(`${h.url}/${REPO}/resolve/main/model.bin`);
    expect(bytes.equals(data)).toBe(true);
    expect(p.seen).toEqual([]);
  });

  it('a proxy asking for a login fails at once, saying where the login goes; with the login in the variable it works', async () => {
    const h = await hub();
    const p = await proxy({ login: { user: 'ada', password: 'p@ss:word' } });
    const port = new URL(p.url).port;
    vi.stubEnv('HTTP_PROXY', p.url);
    const started = Date.now();
    await expect(download(`${h.url}/${REPO}/resolve/main/model.bin`, { baseMs: 1000, maxMs: 1000, maxAttempts: 5 })).rejects.toMatchObject({
      retryable: false,
      status: 407,
      message: expect.stringMatching(/asked for a login \(HTTP 407\)\. Put the login in the proxy variable: HTTPS_PROXY=http:\/\/USER:PASSWORD@HOST:PORT \(percent-encode/),
    });
    expect(Date.now() - started).toBeLessThan(900);
    vi.stubEnv('HTTP_PROXY', `http://ada:${encodeURIComponent('p@ss:word')}@127.0.0.1:${port}`);
    expect((await download(`${h.url}/${REPO}/resolve/main/model.bin`)).bytes.equals(data)).toBe(true);
  });

  it('a proxy that is down is retried like a lost network, and the error names the proxy and its variable', async () => {
    const h = await hub();
    const p = await proxy();
    await p.close();
    vi.stubEnv('HTTP_PROXY', p.url);
    const err = await download(`${h.url}/${REPO}/resolve/main/model.bin`).catch((e: Error) => e);
    expect((err as Error).message).toMatch(new RegExp(`127\\.0\\.0\\.1:\\d+ through the proxy 127\\.0\\.0\\.1:${new URL(p.url).port} \\(HTTP_PROXY\\): connect ECONNREFUSED.*gave up after 2 retries`));
    expect(h.log).toEqual([]);
  });

  it('a bad proxy variable fails the transfer before anything is fetched, with the fix', async () => {
    const h = await hub();
    vi.stubEnv('HTTP_PROXY', 'socks5://127.0.0.1:1080');
    await expect(download(`${h.url}/${REPO}/resolve/main/model.bin`)).rejects.toMatchObject({ name: 'ProxyConfigError', retryable: false });
    expect(h.log).toEqual([]);
  });
});

describe('the Hub API through a proxy', () => {
  it('lists a repository through the proxy', async () => {
    const h = await hub();
    const p = await proxy();
    vi.stubEnv('HTTP_PROXY', p.url);
    const files = await new HuggingFaceHub({ endpoint: h.url }).listFiles(REPO, 'main');
    expect(files.map((f) => f.path)).toEqual(['model.bin']);
    expect(p.seen).toEqual([`GET ${h.url}/api/models/${REPO}/tree/main?recursive=true`]);
  });

  it('says where the login goes when the proxy asks for one, and names the proxy when it is down', async () => {
    const h = await hub();
    const p = await proxy({ login: { user: 'ada', password: 'secret' } });
    vi.stubEnv('HTTP_PROXY', p.url);
    const client = new HuggingFaceHub({ endpoint: h.url });
    await expect(client.listFiles(REPO, 'main')).rejects.toMatchObject({ code: 'unauthorized', message: expect.stringMatching(/the proxy 127\.0\.0\.1:\d+ \(HTTP_PROXY\) asked for a login \(HTTP 407\)/), fix: expect.stringMatching(/USER:PASSWORD@HOST:PORT/) });
    await p.close();
    await expect(client.search('x', undefined, 5)).rejects.toMatchObject({
      code: 'unavailable',
      message: expect.stringMatching(/is unreachable through the proxy 127\.0\.0\.1:\d+ \(HTTP_PROXY\) \(fetch failed.*ECONNREFUSED/),
      fix: 'Check that the proxy runs and HTTP_PROXY is right, or list 127.0.0.1 in NO_PROXY.',
    });
    vi.stubEnv('HTTP_PROXY', 'socks4://127.0.0.1:1');
    await expect(client.search('x', undefined, 5)).rejects.toMatchObject({ code: 'bad-request', message: expect.stringMatching(/^Could not search the Hub: HTTP_PROXY names a socks4 proxy/), fix: expect.stringMatching(/^Set HTTP_PROXY=http:\/\/HOST:PORT/) });
  });
});
