/**
 * One SSH node as ssh2 connects to it: the `ssh://user@host[:port]` address, the user's credentials
 * (ssh-agent and/or private key files), and AIMA's own host-key check against known_hosts. Shared by
 * the Docker-over-SSH client options and the loopback tunnels, and the one place that turns ssh2's
 * errors into refusals a user can act on.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import type * as Ssh2 from 'ssh2';
import { AimaError, type ErrorCode } from '../../../shared/errors.js';
import { hostKeyRefusal, knownKeyAlgorithms, parseKnownHosts, verifyHostKey } from './known-hosts.js';

export type SshRefusalReason =
  | 'bad-url'
  | 'no-credentials'
  | 'key-file'
  | 'host-key-unknown'
  | 'host-key-changed'
  | 'host-key-revoked'
  | 'auth'
  | 'unreachable'
  | 'docker-missing'
  | 'docker-denied'
  | 'docker-down';

/** A refusal on the way to an SSH node; `reason` lets callers tell them apart without reading text. */
export class SshNodeError extends AimaError {
  constructor(
    readonly reason: SshRefusalReason,
    code: ErrorCode,
    message: string,
    fix?: string,
  ) {
    super(code, message, fix);
    this.name = 'SshNodeError';
  }
}

export interface SshNodeTarget {
  /** `ssh://user@host[:port]`; without a user, the local user name (as ssh does). */
  url: string;
  /** Default: ~/.ssh/known_hosts. */
  knownHostsFile?: string;
  /** A private key file to use instead of the default ones (~/.ssh/id_ed25519, id_ecdsa, id_rsa). */
  identityFile?: string;
  /** The ssh-agent socket; default SSH_AUTH_SOCK; null for none. */
  agent?: string | null;
  /** How long the handshake and authentication may take. Default 15 s. */
  readyTimeoutMs?: number;
}

export interface SshEndpoint {
  user: string;
  host: string;
  port: number;
}

const DEFAULT_KEY_FILES = ['id_ed25519', 'id_ecdsa', 'id_rsa'];

/** Parses `ssh://user@host[:port]`; anything else is refused with the expected form. */
export function parseSshUrl(url: string): SshEndpoint {
  const bad = (why: string) => new SshNodeError('bad-url', 'bad-request', `"${url}" is not an SSH node address: ${why}.`, 'Write it as ssh://user@host or ssh://user@host:port.');
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw bad('it does not parse as a URL');
  }
  if (u.protocol !== 'ssh:') throw bad(`the scheme is ${u.protocol.replace(/:$/, '')}, not ssh`);
  if (!u.hostname) throw bad('it names no host');
  if (u.password) throw bad('passwords in the address are not supported (use a key or ssh-agent)');
  if ((u.pathname && u.pathname !== '/') || u.search || u.hash) throw bad('it has a path, query or fragment');
  return { user: decodeURIComponent(u.username) || os.userInfo().username, host: u.hostname.replace(/^\[|\]$/g, ''), port: u.port ? Number(u.port) : 22 };
}

export const sshAddress = (e: SshEndpoint) => `${e.user}@${e.host}${e.port === 22 ? '' : `:${e.port}`}`;

export function loadSsh2(): typeof Ssh2 {
  return createRequire(import.meta.url)('ssh2') as typeof Ssh2;
}

interface Credentials {
  methods: Ssh2.AnyAuthMethod[];
  /** What was offered, for the message when the node accepts none of it. */
  offered: string[];
}

/** The agent (when its socket exists) then each key file, in the order ssh tries them. */
function credentials(target: SshNodeTarget, user: string, ssh2: typeof Ssh2): Credentials {
  const methods: Ssh2.AnyAuthMethod[] = [];
  const offered: string[] = [];
  const agent = target.agent === undefined ? process.env.SSH_AUTH_SOCK : target.agent;
  if (agent && existsSync(agent)) {
    methods.push({ type: 'agent', username: user, agent });
    offered.push(`the ssh-agent at ${agent}`);
  }
  const files = target.identityFile ? [target.identityFile] : DEFAULT_KEY_FILES.map((f) => path.join(os.homedir(), '.ssh', f)).filter((f) => existsSync(f));
  for (const file of files) {
    let text: Buffer;
    try {
      text = readFileSync(file);
    } catch (err) {
      throw new SshNodeError('key-file', 'bad-request', `Cannot read the SSH key ${file}: ${(err as Error).message}.`, 'Name a readable private key file, or leave it out to use ssh-agent and ~/.ssh/id_*.');
    }
    const parsed = ssh2.utils.parseKey(text);
    if (parsed instanceof Error) {
      // A passphrase-protected default key is skipped (the agent may hold it); a named one is refused.
      if (!target.identityFile) continue;
      const encrypted = /passphrase|encrypted/i.test(parsed.message);
      throw new SshNodeError(
        'key-file',
        'bad-request',
        `The SSH key ${file} ${encrypted ? 'is protected by a passphrase' : `is not a private key AIMA can read (${parsed.message})`}.`,
        encrypted ? `Load it into ssh-agent (\`ssh-add ${file}\`) and leave the key file out.` : 'Name an OpenSSH or PEM private key file.',
      );
    }
    methods.push({ type: 'publickey', username: user, key: text });
    offered.push(`the key ${file}`);
  }
  if (methods.length === 0) {
    throw new SshNodeError(
      'no-credentials',
      'bad-request',
      'There is no SSH credential to offer: no ssh-agent (SSH_AUTH_SOCK) and no readable key without a passphrase in ~/.ssh (id_ed25519, id_ecdsa, id_rsa).',
      'Start ssh-agent and `ssh-add` your key, or name a key file.',
    );
  }
  return { methods, offered };
}

export interface SshConnection {
  endpoint: SshEndpoint;
  /** ssh2's connect config: credentials, algorithms, and the host verifier. */
  config: Ssh2.ConnectConfig;
  /** Turns what ssh2 (or a client over it) threw into an SshNodeError with a fix, when it can tell. */
  explain(err: unknown): Error;
}

const readKnownHosts = (file: string) => (existsSync(file) ? parseKnownHosts(readFileSync(file, 'utf8')).entries : []);

/**
 * Everything ssh2 needs to connect to the node, with the host key checked by AIMA: the verifier
 * reads known_hosts at each handshake (so a fixed file takes effect on the next connection) and
 * keeps the refusal it made, which `explain` returns in place of ssh2's "Host denied".
 */
export function sshConnection(target: SshNodeTarget): SshConnection {
  const endpoint = parseSshUrl(target.url);
  const knownHostsFile = target.knownHostsFile ?? path.join(os.homedir(), '.ssh', 'known_hosts');
  const ssh2 = loadSsh2();
  const creds = credentials(target, endpoint.user, ssh2);
  let refusal: SshNodeError | null = null;
  const hostVerifier = (key: Buffer): boolean => {
    const verdict = verifyHostKey(readKnownHosts(knownHostsFile), endpoint.host, endpoint.port, key);
    if (verdict.kind === 'match') return true;
    const { message, fix } = hostKeyRefusal(verdict, { file: knownHostsFile, host: endpoint.host, port: endpoint.port, presented: key });
    const reason = verdict.kind === 'unknown' ? 'host-key-unknown' : verdict.kind === 'mismatch' ? 'host-key-changed' : 'host-key-revoked';
    refusal = new SshNodeError(reason, 'forbidden', message, fix);
    return false;
  };
  const algorithms = knownKeyAlgorithms(readKnownHosts(knownHostsFile), endpoint.host, endpoint.port);
  const config: Ssh2.ConnectConfig = {
    host: endpoint.host,
    port: endpoint.port,
    username: endpoint.user,
    authHandler: creds.methods,
    hostVerifier,
    readyTimeout: target.readyTimeoutMs ?? 15_000,
    keepaliveInterval: 5000,
    keepaliveCountMax: 3,
    ...(algorithms.length ? { algorithms: { serverHostKey: algorithms as Ssh2.ServerHostKeyAlgorithm[] } } : {}),
  };
  const where = sshAddress(endpoint);
  const explain = (err: unknown): Error => {
    if (err instanceof AimaError) return err;
    const e = err as { message?: string; level?: string; code?: string };
    const msg = e?.message ?? String(err);
    if (refusal && /Host denied/i.test(msg)) return refusal;
    if (e?.level === 'client-authentication') {
      return new SshNodeError(
        'auth',
        'forbidden',
        `${where} accepted none of the SSH credentials AIMA offered (${creds.offered.join('; ')}).`,
        `Add one of those public keys to ~${endpoint.user}/.ssh/authorized_keys on the node (\`ssh-copy-id${endpoint.port === 22 ? '' : ` -p ${endpoint.port}`} ${endpoint.user}@${endpoint.host}\`), or name the key file to use.`,
      );
    }
    const network = ['client-socket', 'client-dns', 'client-timeout'].includes(e?.level ?? '') || /ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ENETUNREACH|ETIMEDOUT|EAI_AGAIN|Timed out while waiting for handshake/.test(`${e?.code ?? ''} ${msg}`);
    if (network) {
      return new SshNodeError('unreachable', 'unavailable', `Cannot reach the SSH server of ${where}: ${msg}.`, `Check that the node is on, that sshd listens on port ${endpoint.port}, and that this machine can reach ${endpoint.host}.`);
    }
    return err instanceof Error ? err : new Error(msg);
  };
  return { endpoint, config, explain };
}
