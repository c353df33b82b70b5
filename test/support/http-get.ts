/** A plain GET for tests that check what a port answers (or that nothing does). */
import http from 'node:http';

/** GET on a new connection: the status and body, or the connection error's code. */
export const get = (port: number, p: string, host = '127.0.0.1') =>
  new Promise<{ status: number; body: string } | { error: string }>((resolve) => {
    http
      .get({ host, port, path: p, agent: false, timeout: 5_000 }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('timeout', function (this: http.ClientRequest) {
        this.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' }));
      })
      .on('error', (err: NodeJS.ErrnoException) => resolve({ error: err.code ?? err.message }));
  });
