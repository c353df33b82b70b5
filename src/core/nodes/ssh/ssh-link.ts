/**
 * One SSH connection to a node, shared by everything AIMA does there: the Docker API (each HTTP
 * connection an exec channel running `docker system dial-stdio`) and the loopback tunnels to
 * engines (`forwardOut` channels). A small state machine:
 *
 *   idle ──connect──▶ connecting ──ready──▶ ready
 *    ▲                    │                   │
 *    └──── failed / lost (backoff) ◀──────────┘        any ──close()──▶ closed
 *
 * It connects on first use and again on the next use after a loss. After a failed attempt the
 * next waits a backoff (1 s, doubling to 5 s; meanwhile uses fail at once with the last error).
 * Never after close.
 */
import type * as Ssh2 from 'ssh2';
import { loadSsh2, sshConnection, type SshConnection, type SshNodeTarget } from './ssh-target.js';

export type SshLinkState = 'idle' | 'connecting' | 'ready' | 'closed';

export interface SshLink {
  connection: SshConnection;
  /** The connected client: the current one, or a new connection. Rejects with an SshNodeError when it can tell why. */
  client(): Promise<Ssh2.Client>;
  state(): SshLinkState;
  /** Why the last connection failed or ended; null while none did. */
  lastError(): Error | null;
  close(): void;
}

export interface SshLinkOptions {
  onState?: (state: SshLinkState, error: Error | null) => void;
  /** First wait after a failed or lost connection; doubles up to maxBackoffMs. Default 1 s. */
  backoffMs?: number;
  maxBackoffMs?: number;
}

export function createSshLink(target: SshNodeTarget, opts: SshLinkOptions = {}): SshLink {
  const connection = sshConnection(target);
  const ssh2 = loadSsh2();
  const firstBackoff = opts.backoffMs ?? 1000;
  const maxBackoff = opts.maxBackoffMs ?? 5000;
  let state: SshLinkState = 'idle';
  let error: Error | null = null;
  /** The client once ready; `latest` also while it connects (so close can end it). */
  let current: Ssh2.Client | null = null;
  let latest: Ssh2.Client | null = null;
  let connecting: Promise<Ssh2.Client> | null = null;
  let backoff = 0;
  let retryAt = 0;

  const setState = (next: SshLinkState, err: Error | null) => {
    error = err;
    if (state === next) return;
    state = next;
    opts.onState?.(next, err);
  };

  /** A ready connection that ends may be made again at once; a failed attempt waits the backoff. */
  const lost = (err: Error, wasReady: boolean) => {
    current = null;
    connecting = null;
    if (state === 'closed') return;
    backoff = wasReady ? 0 : backoff ? Math.min(backoff * 2, maxBackoff) : firstBackoff;
    retryAt = Date.now() + backoff;
    setState('idle', err);
  };

  const client = (): Promise<Ssh2.Client> => {
    if (state === 'closed') return Promise.reject(new Error(`The SSH connection to ${connection.endpoint.host} is closed.`));
    if (current) return Promise.resolve(current);
    if (connecting) return connecting;
    if (Date.now() < retryAt && error) return Promise.reject(error);
    setState('connecting', error);
    const c = new ssh2.Client();
    latest = c;
    connecting = new Promise<Ssh2.Client>((resolve, reject) => {
      let ready = false;
      let failure: Error | null = null;
      c.once('ready', () => {
        ready = true;
        // Small request/response exchanges (Docker API calls): no Nagle delay.
        c.setNoDelay(true);
        current = c;
        connecting = null;
        setState('ready', null);
        resolve(c);
      });
      c.on('error', (err) => (failure = err));
      // ssh2 always ends with 'close', after 'error' when there was one.
      c.once('close', () => {
        const why = ready
          ? new Error(`The SSH connection to ${connection.endpoint.host} was lost${failure ? ` (${failure.message})` : ''}.`)
          : failure
            ? connection.explain(failure)
            : new Error('The SSH connection closed during the handshake.');
        if (!ready) reject(why);
        if (current === c || !ready) lost(why, ready);
      });
      try {
        c.connect(connection.config);
      } catch (err) {
        // A config ssh2 refuses outright: no 'close' follows.
        const why = connection.explain(err);
        reject(why);
        lost(why, false);
      }
    });
    return connecting;
  };

  return {
    connection,
    client,
    state: () => state,
    lastError: () => error,
    close() {
      if (state === 'closed') return;
      setState('closed', error);
      latest?.end();
      current = null;
    },
  };
}
