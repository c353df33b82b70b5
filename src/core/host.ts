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
import { serverTls } from './server/tls/server-tls.js';

export interface HostOptions {
  dataDir: string;
  owner: 'electron' | 'serve';
  host?: string;
  port: number;
  env?: Env;
  uiDir?: string;
  /** Electron safeStorage for the secret store (desktop app only). */
  secretCipher?: import('./secrets/secret-store.js').StringCipher;
  /** HTTPS beyond loopback: a user certificate (else the install CA's) and extra names of this machine. */
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
 * Refuses a bind address that would expose the API beyond this machine unless API keys exist to
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
  const host = opts.host ?? '127.0.0.1';
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
    checkBindHost(host, core.keys.active());
    const tls = serverTls(paths.dataDir, host, opts.tls ?? {});
    const server = await startHttpServer({
      api: core.api,
      events: core.events,
      auth: { token, keys: core.keys },
      remoteAccess: !isLoopbackHost(host),
      names: tls?.names,
      // The install CA goes along with its server certificate, so clients see the whole chain.
      tls: tls ? { cert: tls.creds.caCert ? tls.creds.cert + tls.creds.caCert : tls.creds.cert, key: tls.creds.key } : undefined,
      host,
      caCert: tls?.creds.caCert ?? undefined,
      port: opts.port,
      uiDir: opts.uiDir ?? path.join(appRoot(), 'out', 'renderer'),
      // The features' own routes and upgrades: the host mounts whatever the core's feature list holds.
      routes: core.routes,
      upgrades: core.upgrades,
      uncontracted: core.uncontracted,
    });
    core.setUrl(server.url, host);
    lock.setUrl(server.url);
    const hosted = core;
    // Calls that need the startup wait for it and report its failure themselves; this line is for the log.
    hosted.startup().catch((err: unknown) => process.stderr.write(`aima: the services could not start: ${formatError(toAimaError(err))}\n`));
    let stopping: Promise<void> | undefined;
    return {
      kind: 'hosted',
      core: hosted,
      server,
      tls,
      token,
      stop() {
        stopping ??= (async () => {
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
