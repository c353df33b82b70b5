/**
 * `aima model pull` against `aima serve` and a fake Hub, as a user meets it: Ctrl+C pauses and
 * the same command resumes; a core killed with SIGKILL mid-download picks the download up on its
 * next start, and the Hub sees Range requests that start after the bytes already on disk.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { aimaBin, runAima, startServe, tempHome, type ServeHandle } from '../support/cli.js';
import { FakeHub } from '../support/fake-hub.js';
import { startProxy } from '../support/proxy.js';
import { repoRoot, requirePart, sharedModel } from '../support/system.js';

const GGUF = sharedModel('stories260K/stories260K.gguf');
const REPO = 'aima-test/stories260K-GGUF';
const FILE = 'stories260K-Q8_0.gguf';
let hub: FakeHub;
let size = 0;
const serves: ServeHandle[] = [];

beforeAll(async () => {
  if (!existsSync(GGUF)) return;
  const content = Buffer.concat([readFileSync(GGUF), randomBytes(6 * 1024 * 1024)]);
  size = content.length;
  hub = await FakeHub.start({ [REPO]: [{ path: FILE, content, lfs: true }] });
});
afterAll(async () => {
  for (const s of serves) await s.stop();
  await hub?.close();
});

/** Bytes of the file the Hub has sent so far. */
const sent = () => hub.log.filter((l) => l.method === 'GET' && l.path.includes(FILE)).reduce((s, l) => s + l.sent, 0);

async function until(cond: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The test certificate (test/fixtures/tls): also the authority to name in NODE_EXTRA_CA_CERTS. */
const TLS_DIR = path.join(repoRoot, 'test', 'fixtures', 'tls');
const caFile = path.join(TLS_DIR, 'localhost-cert.pem');

/** A Hub over HTTPS with that certificate, serving `content` as FILE. */
const secureHub = (content: Buffer) => FakeHub.start({ [REPO]: [{ path: FILE, content, lfs: true }] }, { tls: { key: readFileSync(path.join(TLS_DIR, 'localhost-key.pem')), cert: readFileSync(caFile) } });

function pull(env: Record<string, string>) {
  const child = spawn(process.execPath, [aimaBin, 'model', 'pull', `${REPO}:${FILE}`, '--name', 'pulled'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return { child, exited, out: () => out };
}

describe('aima model pull', () => {
  it('Ctrl+C pauses, the same command resumes; SIGKILL of the core mid-download resumes after restart from the written bytes', async (ctx) => {
    requirePart(ctx, 'shared-models', existsSync(GGUF));
    const home = tempHome('aima-pull-');
    const env = { AIMA_HOME: home, HF_ENDPOINT: hub.url };
    serves.push(await startServe(env));
    hub.faults.throttleBps = 1024 * 1024;

    // 1. Ctrl+C pauses.
    const first = pull(env);
    await until(() => sent() > 1024 * 1024, 'the first MiB');
    first.child.kill('SIGINT');
    expect(await first.exited).toBe(130);
    expect(first.out()).toMatch(/Paused at [\d.]+ MiB of [\d.]+ MiB\. Run the same command to resume\./);

    // 2. The same command resumes; the core is killed outright halfway.
    const beforeResume = hub.log.length;
    const second = pull(env);
    await until(() => sent() > 3.5 * 1024 * 1024, '3.5 MiB');
    const resumeStarts = hub.log.slice(beforeResume).filter((l) => l.method === 'GET' && l.range).map((l) => Number(/bytes=(\d+)-/.exec(l.range!)![1]));
    expect(resumeStarts[0]).toBeGreaterThan(512 * 1024);
    expect(second.out()).toMatch(/Resuming 1 file \([\d.]+ MiB\) from aima-test\/stories260K-GGUF at [\d.]+ MiB/);
    second.child.kill('SIGKILL');
    await serves[0]!.kill();
    const sentBeforeKill = sent();
    const beforeRestart = hub.log.length;
    hub.faults.throttleBps = null;

    // 3. A new core picks the download up by itself; the same command waits for it to finish.
    serves.push(await startServe(env));
    const third = await runAima(['model', 'pull', `${REPO}:${FILE}`, '--name', 'pulled', '--json'], env, 60_000);
    expect(third.code, third.stderr).toBe(0);
    expect(JSON.parse(third.stdout)).toMatchObject({ state: 'completed', modelName: 'pulled', bytesDone: size });
    const afterStarts = hub.log.slice(beforeRestart).filter((l) => l.method === 'GET' && l.path.includes(FILE)).map((l) => Number(/bytes=(\d+)-/.exec(l.range ?? 'bytes=0-')![1]));
    expect(afterStarts.length).toBeGreaterThan(0);
    // Resumed after what was on disk: at most ~1 s (the sync interval) of bytes fetched again.
    expect(Math.min(...afterStarts)).toBeGreaterThan(2 * 1024 * 1024);
    expect(Math.min(...afterStarts)).toBeLessThanOrEqual(sentBeforeKill);
    const list = await runAima(['model', 'list', '--json'], env);
    expect((JSON.parse(list.stdout) as Array<{ name: string }>).map((m) => m.name)).toContain('pulled');
  });

  it('over HTTPS: a mirror signed by a private authority works once NODE_EXTRA_CA_CERTS names it, and without it fails at once, naming the fix', async (ctx) => {
    requirePart(ctx, 'shared-models', existsSync(GGUF));
    const content = readFileSync(GGUF);
    const secure = await secureHub(content);
    try {
      const untrusted = { AIMA_HOME: tempHome('aima-pull-tls-'), HF_ENDPOINT: secure.url };
      serves.push(await startServe(untrusted));
      const started = Date.now();
      const refused = await runAima(['model', 'pull', `${REPO}:${FILE}`, '--name', 'pulled'], untrusted, 60_000);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/TLS certificate .*is not trusted.*NODE_EXTRA_CA_CERTS=/s);
      // Not retried with backoff: a certificate does not fix itself.
      expect(Date.now() - started).toBeLessThan(10_000);

      const trusted = { AIMA_HOME: tempHome('aima-pull-tls-'), HF_ENDPOINT: secure.url, NODE_EXTRA_CA_CERTS: caFile };
      serves.push(await startServe(trusted));
      const r = await runAima(['model', 'pull', `${REPO}:${FILE}`, '--name', 'pulled', '--json'], trusted, 60_000);
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ state: 'completed', modelName: 'pulled', bytesDone: content.length });
      // The bytes came over TLS from the CDN path, in ranges (the transfer's own reader, not only the resolve).
      expect(secure.rangeStarts(FILE).length).toBeGreaterThan(0);
    } finally {
      await secure.close();
    }
  });

  it('behind a proxy (HTTPS_PROXY): the Hub API, the resolve and the ranges go through its CONNECT tunnel, and the certificate is still checked end to end', async (ctx) => {
    requirePart(ctx, 'shared-models', existsSync(GGUF));
    const content = Buffer.concat([readFileSync(GGUF), randomBytes(3 * 1024 * 1024)]);
    const secure = await secureHub(content);
    const proxy = await startProxy({ login: { user: 'ada', password: 'pw' } });
    const tunnel = `CONNECT ${new URL(secure.url).host}`;
    try {
      // The tunnel carries TLS from the core to the Hub: a certificate the core does not trust is refused as without a proxy.
      const viaProxy = { HF_ENDPOINT: secure.url, HTTPS_PROXY: proxy.url.replace('//', '//ada:pw@') };
      const untrusted = { ...viaProxy, AIMA_HOME: tempHome('aima-pull-proxy-') };
      serves.push(await startServe(untrusted));
      const refused = await runAima(['model', 'pull', `${REPO}:${FILE}`, '--name', 'pulled'], untrusted, 60_000);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/TLS certificate .*is not trusted.*NODE_EXTRA_CA_CERTS=/s);
      expect(proxy.seen).toContain(tunnel);
      expect(secure.log).toEqual([]);

      const trusted = { ...viaProxy, AIMA_HOME: tempHome('aima-pull-proxy-'), NODE_EXTRA_CA_CERTS: caFile };
      serves.push(await startServe(trusted));
      const r = await runAima(['model', 'pull', `${REPO}:${FILE}`, '--name', 'pulled', '--json'], trusted, 60_000);
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ state: 'completed', modelName: 'pulled', bytesDone: content.length });
      expect(secure.log.map((l) => l.method + ' ' + l.path.split('/')[1])).toEqual(expect.arrayContaining(['GET api', 'HEAD aima-test', 'GET cdn']));
      expect(secure.rangeStarts(FILE).length).toBeGreaterThan(0);
      // Every request reached the Hub through a tunnel: nothing else but CONNECTs to it went to the proxy.
      expect(proxy.seen.length).toBeGreaterThanOrEqual(3);
      expect(proxy.seen.every((s) => s === tunnel)).toBe(true);
    } finally {
      await proxy.close();
      await secure.close();
    }
  });

  it('explains a bad repository spec', async (ctx) => {
    requirePart(ctx, 'shared-models', existsSync(GGUF));
    const r = await runAima(['model', 'pull', 'not a repo'], { AIMA_HOME: tempHome('aima-pull-bad-') });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/is not a Hugging Face repository id/);
  });
});
