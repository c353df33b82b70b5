/**
 * OpenSSH known_hosts: parsing and the host-key decision AIMA makes itself before it talks to a
 * node over SSH (docker-modem's SSH transport accepts any host key). Pure: the caller reads the file.
 *
 * Supported, as in sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT": comma-separated host patterns with `*`,
 * `?` and `!` negation, `[host]:port` for ports other than 22, hashed names (`|1|salt|hmac`), and the
 * `@revoked` marker. `@cert-authority` lines are kept but never vouch for a plain host key.
 */
import { createHash, createHmac } from 'node:crypto';

export interface KnownHostEntry {
  /** 1-based line number in the file, for messages that send the user there. */
  line: number;
  marker: 'revoked' | 'cert-authority' | null;
  /** The host field as written (patterns or one hashed name). */
  hosts: string;
  /** The key type the line declares (`ssh-ed25519`, `ssh-rsa`, `ecdsa-sha2-nistp256`, ...). */
  keyType: string;
  /** The public key in SSH wire format (the base64 field, decoded). */
  key: Buffer;
}

export interface KnownHostsProblem {
  line: number;
  message: string;
}

export interface ParsedKnownHosts {
  entries: KnownHostEntry[];
  /** Lines that could not be read; OpenSSH skips them too, but a caller may show them. */
  problems: KnownHostsProblem[];
}

/** The key type named inside an SSH wire-format public key (its first string), or null when malformed. */
function wireKeyType(key: Buffer): string | null {
  if (key.length < 4) return null;
  const len = key.readUInt32BE(0);
  if (len === 0 || len > 64 || 4 + len > key.length) return null;
  return key.subarray(4, 4 + len).toString('latin1');
}

/** OpenSSH's fingerprint of a public key: `SHA256:` and unpadded base64 of its SHA-256. */
export function keyFingerprint(key: Buffer): string {
  return `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
}

/** Parses a known_hosts file's text. */
export function parseKnownHosts(text: string): ParsedKnownHosts {
  const entries: KnownHostEntry[] = [];
  const problems: KnownHostsProblem[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = i + 1;
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    const fields = trimmed.split(/\s+/);
    let marker: KnownHostEntry['marker'] = null;
    if (fields[0]!.startsWith('@')) {
      const m = fields.shift()!;
      if (m === '@revoked') marker = 'revoked';
      else if (m === '@cert-authority') marker = 'cert-authority';
      else return problems.push({ line, message: `unknown marker ${m}` });
    }
    const [hosts, keyType, b64] = fields;
    if (!hosts || !keyType || !b64) return problems.push({ line, message: 'expected: [marker] hosts key-type base64-key [comment]' });
    const key = Buffer.from(b64, 'base64');
    if (key.toString('base64').replace(/=+$/, '') !== b64.replace(/=+$/, '')) return problems.push({ line, message: 'the key is not valid base64' });
    const inner = wireKeyType(key);
    if (inner !== keyType) return problems.push({ line, message: `the key says it is ${inner ?? 'nothing readable'}, the line says ${keyType}` });
    entries.push({ line, marker, hosts, keyType, key });
  });
  return { entries, problems };
}

/** The name known_hosts stores for a host: bare on port 22, `[host]:port` otherwise. */
function knownHostsName(host: string, port: number): string {
  const h = host.toLowerCase();
  return port === 22 ? h : `[${h}]:${port}`;
}

/** OpenSSH's glob: `*` any run of characters, `?` exactly one. */
function globMatches(pattern: string, name: string): boolean {
  const re = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${re}$`, 'i').test(name);
}

function hashedMatches(field: string, name: string): boolean {
  const [, , salt, hash] = field.split('|');
  if (!salt || !hash) return false;
  const mac = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64');
  return mac === hash;
}

/** True when an entry's host field names `name` (as made by knownHostsName). */
function hostFieldMatches(hosts: string, name: string): boolean {
  if (hosts.startsWith('|1|')) return hashedMatches(hosts, name);
  let positive = false;
  for (const pattern of hosts.split(',')) {
    if (pattern.startsWith('!')) {
      if (globMatches(pattern.slice(1), name)) return false;
    } else if (globMatches(pattern, name)) {
      positive = true;
    }
  }
  return positive;
}

/** What known_hosts says about the key a host presented. */
export type HostKeyVerdict =
  | { kind: 'match'; line: number }
  /** The host is known with another key: a changed key (reinstall) or someone in the middle. */
  | { kind: 'mismatch'; line: number; knownType: string }
  /** The presented key is marked `@revoked`. */
  | { kind: 'revoked'; line: number }
  | { kind: 'unknown' };

/**
 * Checks the key `host`:`port` presented (SSH wire format) against the entries. A revoked key is
 * refused whatever else matches; a host known only with keys of other types counts as a mismatch,
 * since AIMA asks the server for the known types first (see knownKeyTypes).
 */
export function verifyHostKey(entries: readonly KnownHostEntry[], host: string, port: number, presented: Buffer): HostKeyVerdict {
  const revoked = entries.find((e) => e.marker === 'revoked' && e.key.equals(presented));
  if (revoked) return { kind: 'revoked', line: revoked.line };
  const name = knownHostsName(host, port);
  const forHost = entries.filter((e) => e.marker === null && hostFieldMatches(e.hosts, name));
  const same = forHost.find((e) => e.key.equals(presented));
  if (same) return { kind: 'match', line: same.line };
  const type = wireKeyType(presented);
  const changed = forHost.find((e) => e.keyType === type) ?? forHost[0];
  if (changed) return { kind: 'mismatch', line: changed.line, knownType: changed.keyType };
  return { kind: 'unknown' };
}

/** ssh2's host key algorithm names for a key type (RSA keys sign with SHA-2 first). */
const ALGORITHMS_FOR_TYPE: Record<string, string[]> = {
  'ssh-rsa': ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'],
};

/**
 * The host key algorithms to offer for a host, in file order: only the types known_hosts holds for
 * it, so a server with several host keys presents the one the user accepted (as OpenSSH's client does).
 * Empty when the host is unknown (the caller then leaves ssh2's defaults; the verdict refuses anyway).
 */
export function knownKeyAlgorithms(entries: readonly KnownHostEntry[], host: string, port: number): string[] {
  const name = knownHostsName(host, port);
  const out: string[] = [];
  for (const e of entries) {
    if (e.marker !== null || !hostFieldMatches(e.hosts, name)) continue;
    for (const algo of ALGORITHMS_FOR_TYPE[e.keyType] ?? [e.keyType]) if (!out.includes(algo)) out.push(algo);
  }
  return out;
}

/** A refusal's message (what was presented, where the file disagrees) and its fix. */
export function hostKeyRefusal(verdict: Exclude<HostKeyVerdict, { kind: 'match' }>, ctx: { file: string; host: string; port: number; presented: Buffer }): { message: string; fix: string } {
  const name = knownHostsName(ctx.host, ctx.port);
  const shown = `${wireKeyType(ctx.presented) ?? 'unknown-type'} key ${keyFingerprint(ctx.presented)}`;
  const scan = `\`ssh-keyscan ${ctx.port === 22 ? '' : `-p ${ctx.port} `}${ctx.host} >> ${ctx.file}\``;
  const nothingSent = 'Nothing was sent to the node.';
  switch (verdict.kind) {
    case 'unknown':
      return {
        message: `The SSH host key of ${name} is not in ${ctx.file} (it presented ${shown}). ${nothingSent}`,
        fix: `Check that fingerprint with the node's owner, then add the key: ${scan} (or connect once with \`ssh${ctx.port === 22 ? '' : ` -p ${ctx.port}`} ${ctx.host}\` and accept it).`,
      };
    case 'mismatch':
      return {
        message: `The SSH host key of ${name} changed: it presented ${shown}, but ${ctx.file} line ${verdict.line} holds a different ${verdict.knownType} key. Someone may be intercepting the connection, or the node was reinstalled. ${nothingSent}`,
        fix: `If the change is expected, remove the old key with \`ssh-keygen -R '${name}' -f ${ctx.file}\` and add the new one: ${scan}.`,
      };
    case 'revoked':
      return {
        message: `The SSH host key of ${name} (${shown}) is marked @revoked in ${ctx.file} line ${verdict.line}. ${nothingSent}`,
        fix: 'AIMA never connects with a revoked key: ask the node\'s owner for a new host key.',
      };
  }
}
