/**
 * A real HTTP forward proxy for tests (the `proxy` package: CONNECT tunnels and absolute-form
 * requests, as Squid serves them), with an optional Basic login and a log of what went through.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { createProxy } from 'proxy';

export interface TestProxy {
  /** http://127.0.0.1:PORT */
  url: string;
  /** `CONNECT host:port` targets and absolute-form request URLs, in order. */
  seen: string[];
  close(): Promise<void>;
}

export async function startProxy(opts: { login?: { user: string; password: string } } = {}): Promise<TestProxy> {
  const seen: string[] = [];
  const server = createProxy(http.createServer());
  const expected = opts.login ? `Basic ${Buffer.from(`${opts.login.user}:${opts.login.password}`).toString('base64')}` : null;
  server.authenticate = (req) => expected === null || req.headers['proxy-authorization'] === expected;
  // Logged before the proxy's own listeners handle them (registered after, called after).
  server.prependListener('connect', (req: http.IncomingMessage) => seen.push(`CONNECT ${req.url}`));
  server.prependListener('request', (req: http.IncomingMessage) => seen.push(`${req.method} ${req.url}`));
  // Tunnels leave the HTTP server's bookkeeping: closing destroys every socket it accepted.
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => (sockets.add(s), s.on('close', () => sockets.delete(s))));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        for (const s of sockets) s.destroy();
      }),
  };
}
