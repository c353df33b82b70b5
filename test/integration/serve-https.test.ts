/**
 * `aima serve` bound beyond loopback serves HTTPS beside plain HTTP on its port: by default with a
 * server certificate from the per-install CA (owner-only key in the data directory, downloadable
 * at /aima-ca.pem), or with a certificate the user gives, checked before use. /v1, /api, the login
 * flow and the WebSockets work over HTTPS with the CA trusted by Node (`ca:`).
 */
import { afterEach, describe, expect, it } from 'vitest';
import https from 'node:https';
import { isIP } from 'node:net';
import { execFileSync } from 'node:child_process';
import { X509Certificate, generateKeyPairSync } from 'node:crypto';
import { statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import WebSocket from 'ws';
import { runAima, startServe, tempHome, type ServeHandle } from '../support/cli.js';
import { issueCa, issueLeaf } from '../../src/core/server/tls/issue-cert.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/** A data directory with one API key. */
async function homeWithKey(): Promise<{ home: string; key: string }> {
  const home = tempHome('aima-https-');
  const created = await runAima(['key', 'create', 'lan', '--json'], { AIMA_HOME: home });
  expect(created.code, created.stderr).toBe(0);
  await runAima(['stop'], { AIMA_HOME: home });
  return { home, key: JSON.parse(created.stdout).key as string };
}

async function serveOn(home: string, args: string[]): Promise<ServeHandle> {
  const serve = await startServe({ AIMA_HOME: home }, args);
  cleanups.push(() => serve.stop());
  return serve;
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  peerCert: X509Certificate;
}

/** An HTTPS request to 127.0.0.1:port presenting `name` (SNI and Host), trusting only `ca`. */
function request(port: number, name: string, ca: string, urlPath: string, opts: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      { host: '127.0.0.1', port, servername: isIP(name) ? undefined : name, path: urlPath, method: opts.method ?? 'GET', ca, headers: { host: `${name}:${port}`, ...opts.headers }, agent: false },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body, peerCert: new X509Certificate((res.socket as import('node:tls').TLSSocket).getPeerCertificate().raw) }));
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

const portOf = (serve: ServeHandle) => Number(new URL(serve.url).port);

describe('HTTPS beyond loopback', () => {
  it('issues a certificate from the install CA: /v1, /api, login and the events WebSocket work over HTTPS; loopback stays plain HTTP', async () => {
    const { home, key } = await homeWithKey();
    const serve = await serveOn(home, ['--host', '0.0.0.0', '--name', 'aima.test']);
    const port = portOf(serve);
    expect(serve.output()).toMatch(new RegExp(`Other machines: .*https://aima\\.test:${port}/`));
    // The CA: public, owner-only key, the fingerprint printed for checking.
    const caRes = await fetch(`${serve.url}/aima-ca.pem`);
    expect(caRes.status).toBe(200);
    const ca = await caRes.text();
    const caX = new X509Certificate(ca);
    expect(caX.ca).toBe(true);
    expect(serve.output()).toContain(caX.fingerprint256);
    if (process.platform !== 'win32') expect(statSync(path.join(home, 'tls', 'ca-key.pem')).mode & 0o777).toBe(0o600);

    const models = await request(port, 'aima.test', ca, '/v1/models', { headers: { authorization: `Bearer ${key}` } });
    expect(models.status, models.body).toBe(200);
    expect(models.peerCert.checkIssued(caX)).toBe(true);
    expect(models.peerCert.checkHost('aima.test')).toBe('aima.test');
    expect((await request(port, 'aima.test', ca, '/v1/models')).status).toBe(401);
    // The certificate covers the loopback address as well.
    expect((await request(port, '127.0.0.1', ca, '/v1/models', { headers: { authorization: `Bearer ${key}` } })).status).toBe(200);

    const info = await request(port, 'aima.test', ca, '/api/call/core.info', { method: 'POST', headers: { authorization: `Bearer ${serve.token}`, 'content-type': 'application/json', origin: `https://aima.test:${port}` }, body: '{}' });
    expect(info.status, info.body).toBe(200);
    // A page on another site is still refused.
    const cross = await request(port, 'aima.test', ca, '/api/call/core.info', { method: 'POST', headers: { authorization: `Bearer ${serve.token}`, 'content-type': 'application/json', origin: 'https://evil.test' }, body: '{}' });
    expect(cross.status).toBe(403);

    const login = await request(port, 'aima.test', ca, `/login?token=${serve.token}`);
    expect(login.status).toBe(302);
    const cookie = String(login.headers['set-cookie']).split(';')[0]!;
    expect((await request(port, 'aima.test', ca, '/api/call/core.info', { method: 'POST', headers: { cookie, 'content-type': 'application/json' }, body: '{}' })).status).toBe(200);

    // The events WebSocket over TLS (an upgrade on the HTTPS side of the port).
    const hello = await new Promise<string>((resolve, reject) => {
      // servername goes through to tls.connect (the ws types leave it out).
      const options = { ca, servername: 'aima.test', headers: { host: `aima.test:${port}`, cookie }, origin: `https://aima.test:${port}` } as WebSocket.ClientOptions;
      const ws = new WebSocket(`wss://127.0.0.1:${port}/api/events`, options);
      ws.once('message', (m) => {
        resolve(String(m));
        ws.close();
      });
      ws.once('error', reject);
    });
    expect(JSON.parse(hello).event).toBe('hello');

    // Loopback clients (the CLI, the printed login URL) keep plain HTTP on the same port.
    expect(serve.loginUrl.startsWith(`http://127.0.0.1:${port}/`)).toBe(true);
    const list = await runAima(['key', 'list'], { AIMA_HOME: home });
    expect(list.code, list.stderr).toBe(0);

    // A second start keeps the CA and its server certificate.
    await serve.stop();
    const again = await serveOn(home, ['--host', '0.0.0.0', '--name', 'aima.test']);
    expect(await (await fetch(`${again.url}/aima-ca.pem`)).text()).toBe(ca);
  });

  it('a loopback bind serves no HTTPS and offers no CA', async () => {
    const { home } = await homeWithKey();
    const serve = await serveOn(home, []);
    expect((await fetch(`${serve.url}/aima-ca.pem`)).status).toBe(404);
    await expect(request(portOf(serve), 'localhost', '', '/healthz')).rejects.toThrow();
  });
});

describe('logging in from another machine', () => {
  it('a browser logs in with an API key (POST /login over HTTPS, a Secure cookie); revoking the key logs it out', async () => {
    const { home, key } = await homeWithKey();
    const second = JSON.parse((await runAima(['key', 'create', 'spare', '--json'], { AIMA_HOME: home })).stdout).key as string;
    expect(second).toBeTruthy();
    await runAima(['stop'], { AIMA_HOME: home });
    const serve = await serveOn(home, ['--host', '0.0.0.0', '--name', 'aima.test']);
    const port = portOf(serve);
    const ca = await (await fetch(`${serve.url}/aima-ca.pem`)).text();
    const form = { 'content-type': 'application/x-www-form-urlencoded', origin: `https://aima.test:${port}` };
    const wrong = await request(port, 'aima.test', ca, '/login', { method: 'POST', headers: form, body: 'key=aima-wrong' });
    expect(wrong.status).toBe(401);
    expect(wrong.body).toMatch(/Wrong or revoked API key.*Settings → Remote access/s);
    const login = await request(port, 'aima.test', ca, '/login', { method: 'POST', headers: form, body: `key=${encodeURIComponent(key)}` });
    expect(login.status).toBe(303);
    const setCookie = String(login.headers['set-cookie']);
    expect(setCookie).toMatch(/HttpOnly; SameSite=Strict; .*Secure/);
    const cookie = setCookie.split(';')[0]!;
    const call = () => request(port, 'aima.test', ca, '/api/call/keys.list', { method: 'POST', headers: { cookie, 'content-type': 'application/json', origin: `https://aima.test:${port}` }, body: '{}' });
    expect((await call()).status).toBe(200);
    const revoked = await runAima(['key', 'revoke', 'lan'], { AIMA_HOME: home });
    expect(revoked.code, revoked.stderr).toBe(0);
    expect((await call()).status).toBe(401);
  });
});

describe('rebinding without a restart', () => {
  it('`aima settings listen` moves the listener to every network and back, refused while no key exists or with a bad certificate; the same process keeps serving', async () => {
    const home = tempHome('aima-https-');
    const serve = await serveOn(home, []);
    const port = portOf(serve);
    const env = { AIMA_HOME: home };
    const refused = await runAima(['settings', 'listen', '0.0.0.0'], env);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/no API key exists/);
    expect((await fetch(`${serve.url}/aima-ca.pem`)).status).toBe(404);

    const created = await runAima(['key', 'create', 'lan', '--json'], env);
    const key = JSON.parse(created.stdout).key as string;
    const wide = await runAima(['settings', 'listen', '0.0.0.0', '--name', 'aima.test', '--json'], env);
    expect(wide.code, wide.stderr).toBe(0);
    const status = JSON.parse(wide.stdout) as { port: number; secure: boolean; urls: string[]; tls: { caFingerprint: string } };
    expect(status.port).toBe(port);
    expect(status.secure).toBe(true);
    expect(status.urls).toContain(`https://aima.test:${port}/`);
    const ca = await (await fetch(`${serve.url}/aima-ca.pem`)).text();
    expect(new X509Certificate(ca).fingerprint256).toBe(status.tls.caFingerprint);
    expect((await request(port, 'aima.test', ca, '/v1/models', { headers: { authorization: `Bearer ${key}` } })).status).toBe(200);
    // The same process: no restart.
    expect(serve.child.exitCode).toBeNull();
    const shown = await runAima(['settings', 'network'], env);
    expect(shown.stdout).toContain(`https://aima.test:${port}/`);
    expect(shown.stdout).toContain(status.tls.caFingerprint);
    // Saved: the next start binds there again.
    expect((await runAima(['settings', 'get', '--json'], env)).stdout).toContain('"listenHost": "0.0.0.0"');

    const back = await runAima(['settings', 'listen', '127.0.0.1', '--json'], env);
    expect(back.code, back.stderr).toBe(0);
    expect(JSON.parse(back.stdout)).toMatchObject({ remote: false, secure: false, urls: [], tls: null });
    await expect(request(port, 'aima.test', ca, '/healthz')).rejects.toThrow();
    expect((await fetch(`${serve.url}/healthz`)).status).toBe(200);

    // A user certificate from the settings whose key does not match: refused, the listener unchanged.
    const mine = issueLeaf({ ...issueCa('Mine', 3650), subjectCn: 'Mine' }, ['aima.test'], 30);
    writeFileSync(path.join(home, 'mine-cert.pem'), mine.certPem);
    writeFileSync(path.join(home, 'other-key.pem'), generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }));
    expect((await runAima(['settings', 'set', 'tlsCertFile', path.join(home, 'mine-cert.pem')], env)).code).toBe(0);
    expect((await runAima(['settings', 'set', 'tlsKeyFile', path.join(home, 'other-key.pem')], env)).code).toBe(0);
    const bad = await runAima(['settings', 'listen', '0.0.0.0', '--name', 'aima.test'], env);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/does not match the certificate/);
    expect(JSON.parse((await runAima(['settings', 'network', '--json'], env)).stdout)).toMatchObject({ host: '127.0.0.1', remote: false });
    expect((await fetch(`${serve.url}/healthz`)).status).toBe(200);
  });
});

describe('a user certificate', () => {
  function openssl(dir: string, name: string, san: string): { cert: string; key: string } {
    const cert = path.join(dir, `${name}-cert.pem`);
    const key = path.join(dir, `${name}-key.pem`);
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '30', '-subj', `/CN=${name}`, '-addext', `subjectAltName=${san}`], { stdio: 'ignore' });
    return { cert, key };
  }

  it('is served when it matches its key, is valid and covers the name', async () => {
    const { home, key } = await homeWithKey();
    const mine = openssl(home, 'good', 'DNS:aima.test');
    const serve = await serveOn(home, ['--host', '0.0.0.0', '--name', 'aima.test', '--tls-cert', mine.cert, '--tls-key', mine.key]);
    const certPem = execFileSync('cat', [mine.cert], { encoding: 'utf8' });
    const res = await request(portOf(serve), 'aima.test', certPem, '/v1/models', { headers: { authorization: `Bearer ${key}` } });
    expect(res.status).toBe(200);
    expect(res.peerCert.fingerprint256).toBe(new X509Certificate(certPem).fingerprint256);
    expect((await fetch(`${serve.url}/aima-ca.pem`)).status).toBe(404);
  });

  it('is refused with the reason when its key does not match, it expired, or it does not cover the name', async () => {
    const { home } = await homeWithKey();
    const good = openssl(home, 'good', 'DNS:aima.test');
    const other = path.join(home, 'other-key.pem');
    writeFileSync(other, generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const ca = issueCa('Expired test CA', 3650);
    const old = issueLeaf({ ...ca, subjectCn: 'Expired test CA' }, ['aima.test'], 10, new Date(Date.now() - 40 * 86_400_000));
    writeFileSync(path.join(home, 'old-cert.pem'), old.certPem);
    writeFileSync(path.join(home, 'old-key.pem'), old.keyPem);
    const cases: [string[], RegExp][] = [
      [['--tls-cert', good.cert, '--tls-key', other], /does not match the certificate/],
      [['--tls-cert', path.join(home, 'old-cert.pem'), '--tls-key', path.join(home, 'old-key.pem')], /expired on \d{4}-/],
      [['--name', 'lan-box.test', '--tls-cert', good.cert, '--tls-key', good.key], /does not cover lan-box\.test \(it covers DNS:aima\.test\)/],
      [['--tls-cert', good.cert], /without its key/],
    ];
    for (const [args, reason] of cases) {
      const r = await runAima(['serve', '--port', '0', '--host', '0.0.0.0', '--name', 'aima.test', ...args], { AIMA_HOME: home });
      expect(r.code, r.stdout).not.toBe(0);
      expect(r.stderr).toMatch(reason);
      expect(r.stdout).not.toContain('Log in:');
    }
  });
});
