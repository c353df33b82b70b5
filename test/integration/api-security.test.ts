import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import WebSocket from 'ws';
import { runAima, startServe, tempHome, type ServeHandle } from '../support/cli.js';

let serve: ServeHandle;
beforeAll(async () => {
  serve = await startServe({ AIMA_HOME: tempHome() });
});
afterAll(async () => {
  await serve?.stop();
});

/** Raw request, so Host and Origin can be set to anything (fetch forbids changing Host). */
function raw(path: string, headers: Record<string, string>, method = 'POST', body = '{}'): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  const u = new URL(serve.url);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, path, method, headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      let data = '';
      res.on('data', (d) => (data += d));
      res.on('end', () => resolve({ status: res.statusCode!, body: data, headers: res.headers }));
    });
    req.on('error', reject);
    req.end(method === 'GET' ? undefined : body);
  });
}

describe('local API security', () => {
  it('/api without the token is 401 with a message that says how to log in', async () => {
    const res = await raw('/api/call/settings.get', {});
    expect(res.status).toBe(401);
    expect(JSON.parse(res.body).error).toMatchObject({ code: 'unauthorized', fix: expect.stringContaining('login URL') });
    const wrong = await raw('/api/call/settings.get', { authorization: 'Bearer ' + '0'.repeat(64) });
    expect(wrong.status).toBe(401);
  });

  it('the token works as a bearer header and as the cookie set by the login URL', async () => {
    const bearer = await raw('/api/call/settings.get', { authorization: `Bearer ${serve.token}` });
    expect(bearer.status).toBe(200);
    const login = await raw(new URL(serve.loginUrl).pathname + new URL(serve.loginUrl).search, {}, 'GET');
    expect(login.status).toBe(302);
    const cookie = String(login.headers['set-cookie']);
    expect(cookie).toMatch(/aima_token=[0-9a-f]{64}; Path=\/; HttpOnly; SameSite=Strict/);
    const viaCookie = await raw('/api/call/core.info', { cookie: cookie.split(';')[0]! });
    expect(viaCookie.status).toBe(200);
    expect(JSON.parse(viaCookie.body).result).toMatchObject({ host: 'serve', url: serve.url });
    const badLogin = await raw('/login?token=nope', {}, 'GET');
    expect(badLogin.status).toBe(401);
  });

  it('a foreign Host (DNS rebinding) is 403 even with the token', async () => {
    const res = await raw('/api/call/settings.get', { host: `evil.example:${new URL(serve.url).port}`, authorization: `Bearer ${serve.token}` });
    expect(res.status).toBe(403);
    const ui = await raw('/', { host: 'evil.example' }, 'GET');
    expect(ui.status).toBe(403);
  });

  it('a foreign Origin (cross-site request) is 403 even with the cookie', async () => {
    const res = await raw('/api/call/settings.update', { origin: 'http://evil.example', cookie: `aima_token=${serve.token}` }, 'POST', '{"onQuit":"keep-running"}');
    expect(res.status).toBe(403);
    const settings = await raw('/api/call/settings.get', { authorization: `Bearer ${serve.token}` });
    expect(JSON.parse(settings.body).result.onQuit).toBe('stop-services');
  });

  it('the events WebSocket needs the token and our Origin', async () => {
    const wsUrl = serve.url.replace('http', 'ws') + '/api/events';
    const status = (headers: Record<string, string>) =>
      new Promise<number>((resolve) => {
        const ws = new WebSocket(wsUrl, { headers });
        ws.on('open', () => {
          ws.close();
          resolve(101);
        });
        ws.on('unexpected-response', (_req, res) => resolve(res.statusCode!));
        ws.on('error', () => {});
      });
    expect(await status({})).toBe(401);
    expect(await status({ authorization: `Bearer ${serve.token}`, origin: 'http://evil.example' })).toBe(403);
    expect(await status({ authorization: `Bearer ${serve.token}` })).toBe(101);
  });

  it('events reach WebSocket subscribers when a setting changes', async () => {
    const ws = new WebSocket(serve.url.replace('http', 'ws') + '/api/events', { headers: { authorization: `Bearer ${serve.token}` } });
    const messages: { event: string; payload: unknown }[] = [];
    ws.on('message', (d) => messages.push(JSON.parse(String(d))));
    await new Promise((r) => ws.once('open', r));
    await raw('/api/call/settings.update', { authorization: `Bearer ${serve.token}` }, 'POST', '{"theme":"dark"}');
    const deadline = Date.now() + 3000;
    while (!messages.some((m) => m.event === 'settings.changed') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    ws.close();
    expect(messages.find((m) => m.event === 'settings.changed')?.payload).toMatchObject({ theme: 'dark' });
  });

  it('bad params and malformed JSON are 400 with the problem named', async () => {
    const auth = { authorization: `Bearer ${serve.token}` };
    const wrong = await raw('/api/call/settings.update', auth, 'POST', '{"startAtLogin":"yes"}');
    expect(wrong.status).toBe(400);
    expect(JSON.parse(wrong.body).error.message).toContain('startAtLogin');
    const junk = await raw('/api/call/settings.update', auth, 'POST', '{nope');
    expect(junk.status).toBe(400);
    expect(JSON.parse(junk.body).error.message).toContain('not valid JSON');
    const unknown = await raw('/api/call/files.delete', auth);
    expect(unknown.status).toBe(404);
  });

  it('--host 0.0.0.0 is refused with a message', async () => {
    const res = await runAima(['serve', '--host', '0.0.0.0', '--port', '0'], { AIMA_HOME: tempHome() });
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('Refusing to listen on 0.0.0.0');
  });
});
