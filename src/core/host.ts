/**
 * Hosting the core: take the data directory's lock, open the core, start its server, publish the
 * URL in the lock, then run the core's slow startup (Docker, adoption of running engines,
 * restores) while the server already answers. Used by `aima serve` and by the desktop app;
 * whoever finds the lock held by a live process attaches to that one instead.
 */
import path from 'node:path';
import { AimaError, formatError, toAimaError } from '../shared/errors.js';
import { acquireCoreLock, type LockInfo } from './lock/core-lock.js';
import { openCore, appRoot, type Core } from './core.js';
import { dataPaths } from './config/paths.js';
import { preparePrivateDataDir } from './config/data-dir.js';
import type { Env } from './config/env.js';
import { ensureToken } from './server/token.js';
import { isLoopbackHost } from './server/security.js';
import { startHttpServer, type RunningServer } from './server/http-server.js';
import { APP_VERSION } from './version.js';
import { fingerprint, serverTls, type ServerTls, type TlsChoice } from './server/tls/server-tls.js';
import { CA_CERT_PATH } from './server/http-server.js';
import type { ServerStatus } from '../shared/contract/index.js';

function isAddressError(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'EADDRNOTAVAIL' || code === 'EADDRINUSE' || code === 'EINVAL' || code === 'EAFNOSUPPORT';
}

/** What server.status reports for the listener `server` with `tls`. */
export function listenerStatus(server: RunningServer, tls: ServerTls | null): ServerStatus {
  return {
    host: server.host,
    port: server.port,
    localUrl: server.url,
    remote: !isLoopbackHost(server.host),
    secure: server.secure,
    urls: server.remoteUrls,
    tls: tls && {
      source: tls.source,
      caFingerprint: tls.creds.caCert ? fingerprint(tls.creds.caCert) : null,
      caPath: tls.creds.caCert ? CA_CERT_PATH : null,
      names: tls.names,
      validTo: tls.creds.validTo.toISOString(),
    },
  };
}

export interface HostOptions {
  dataDir: string;
  owner: 'electron' | 'serve';
  host?: string;
  port: number;
  env?: Env;
  uiDir?: string;
  /** Electron safeStorage for the secret store (desktop app only). */
  secretCipher?: import('./secrets/secret-store.js').StringCipher;
  /** HTTPS beyond loopback: a user certificate (else the install CA's) and extra names of the host. */
  tls?: import('./server/tls/server-tls.js').TlsChoice;
  /** Test seam: features appended to the core's list (see CoreOptions.extraFeatures). */
  extraFeatures?: import('./core.js').CoreOptions['extraFeatures'];
}

export interface HostedCore {
  kind: 'hosted';
  core: Core;
  server: RunningServer;
  /** The HTTPS set-up when bound beyond loopback. */
  tls: import('./server/tls/server-tls.js').ServerTls | null;
  token: string;
  stop(): Promise<void>;
}

export type HostResult = HostedCore | { kind: 'attached'; info: LockInfo; token: string };

/**
 * Refuses a bind address that would expose the API beyond the host unless API keys exist to
 * protect it (then every request from elsewhere must carry one).
 */
export function checkBindHost(host: string, activeKeys: number): void {
  if (!isLoopbackHost(host) && activeKeys === 0) {
    throw new AimaError(
      'forbidden',
      `Refusing to listen on ${host}: that would expose AIMA to other machines, and no API key exists to protect it.`,
      'Create one first with `aima key create NAME` (clients then send it as a Bearer token), or keep the default --host 127.0.0.1.',
    );
  }
}

export async function hostCore(opts: HostOptions): Promise<HostResult> {
  const paths = dataPaths(opts.dataDir);
  const loose = preparePrivateDataDir(paths);
  if (loose) process.stderr.write(`aima: warning: ${loose}\n`);
  const token = ensureToken(paths.token);
  const acquired = await acquireCoreLock(paths.lock, { owner: opts.owner, dataDir: paths.dataDir, version: APP_VERSION });
  if (acquired.kind === 'held') return { kind: 'attached', info: acquired.info, token };
  const lock = acquired.lock;
  let core: Core | undefined;
  try {
    core = openCore({ dataDir: paths.dataDir, host: opts.owner, env: opts.env, token, secretCipher: opts.secretCipher, extraFeatures: opts.extraFeatures });
    const settings = core.api['settings.get'];
    const saved = await settings({});
    // `--host` (or the desktop's choice) wins; else the saved listen address.
    const firstHost = opts.host ?? saved.listenHost;
    const tlsChoice = (s: typeof saved, names?: readonly string[]): TlsChoice => ({
      certFile: opts.tls?.certFile ?? (s.tlsCertFile || null),
      keyFile: opts.tls?.keyFile ?? (s.tlsKeyFile || null),
      names: names ?? opts.tls?.names ?? s.serverNames,
    });
    const opened = core;
    /** Checks everything that can be refused (no API key, a bad certificate) and issues what is due; binds nothing. */
    const prepare = (bindHost: string, choice: TlsChoice): ServerTls | null => {
      checkBindHost(bindHost, opened.keys.active());
      return serverTls(paths.dataDir, bindHost, choice);
    };
    const listen = (bindHost: string, port: number, t: ServerTls | null): Promise<RunningServer> =>
      startHttpServer({
        api: opened.api,
        events: opened.events,
        auth: { token, keys: opened.keys },
        remoteAccess: !isLoopbackHost(bindHost),
        names: t?.names,
        // The install CA goes along with its server certificate, so clients see the whole chain.
        tls: t ? { cert: t.creds.caCert ? t.creds.cert + t.creds.caCert : t.creds.cert, key: t.creds.key } : undefined,
        host: bindHost,
        caCert: t?.creds.caCert ?? undefined,
        port,
        uiDir: opts.uiDir ?? path.join(appRoot(), 'out', 'renderer'),
        // The features' own routes and upgrades: the host mounts whatever the core's feature list holds.
        routes: opened.routes,
        upgrades: opened.upgrades,
        apiRoutes: opened.apiRoutes,
        uncontracted: opened.uncontracted,
      });
    let tls = prepare(firstHost, tlsChoice(saved));
    let server = await listen(firstHost, opts.port, tls);
    core.setUrl(server.url, server.host);
    lock.setUrl(server.url);
    core.attachListener({
      status: () => listenerStatus(server, tls),
      async listen(params) {
        const s = await settings({});
        // Refusals come before the old listener closes.
        const nextTls = prepare(params.host, tlsChoice(s, params.names ?? s.serverNames));
        const old = server;
        const oldTls = tls;
        // Stop accepting at once (the port is free again); requests in flight, this one included, finish.
        void old.close({ graceMs: 5000 });
        try {
          server = await listen(params.host, old.port, nextTls);
          tls = nextTls;
        } catch (err) {
          // The port was taken in between, or the address is not the host's: back to the old bind, as it was.
          server = await listen(old.host, old.port, oldTls);
          throw isAddressError(err) ? new AimaError('bad-request', `Cannot listen on ${params.host}: ${(err as Error).message}.`, 'Use 0.0.0.0 (every network), 127.0.0.1, or an address this machine has.') : err;
        }
        await opened.api['settings.update']({ listenHost: params.host, ...(params.names ? { serverNames: params.names } : {}) });
        opened.setUrl(server.url, server.host);
        lock.setUrl(server.url);
        return listenerStatus(server, tls);
      },
    });
    const hosted = core;
    // Calls that need the startup wait for it and report its failure themselves; this line is for the log.
    hosted.startup().catch((err: unknown) => process.stderr.write(`aima: the services could not start: ${formatError(toAimaError(err))}\n`));
    let stopping: Promise<void> | undefined;
    return {
      kind: 'hosted',
      core: hosted,
      get server() {
        return server;
      },
      get tls() {
        return tls;
      },
      token,
      stop() {
        stopping ??= (async () => {
          hosted.attachListener(null);
          await server.close();
          await hosted.close();
          lock.release();
        })();
        return stopping;
      },
    };
  } catch (err) {
    await core?.close();
    lock.release();
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new AimaError('conflict', `Port ${opts.port} is already in use by another program.`, 'Pick another one with --port (or set AIMA_PORT).');
    }
    throw err;
  }
}
