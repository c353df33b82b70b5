/**
 * AIMA's own host-key check against OpenSSH known_hosts: plain and hashed names, `[host]:port`,
 * wildcards and negation, @revoked, and the refusal messages that name the file, the line and the fix.
 * The keys and the hashed lines were made with ssh-keygen (`ssh-keygen -H` for the hashed ones).
 */
import { describe, expect, it } from 'vitest';
import { hostKeyRefusal, keyFingerprint, knownKeyAlgorithms, parseKnownHosts, verifyHostKey } from '../../src/core/nodes/ssh/known-hosts.js';

const A = 'AAAAC3NzaC1lZDI1NTE5AAAAIJHOEkcrgsRbDgzrZe01Xf9NcV73sflfN9XKSWA6mcos';
const B = 'AAAAC3NzaC1lZDI1NTE5AAAAIMwXHjx7illHbfffWODnsXabnpKtWD6znCz2kR8V8epb';
const C = 'AAAAC3NzaC1lZDI1NTE5AAAAIL4gEBJb3gjE2Zi3Zu+AnuSNMK3gaumbzP1dWV2Ycdul';
const R =
  'AAAAB3NzaC1yc2EAAAADAQABAAAAgQCozeAiKgksLVj/K/QXbSmyr2LQ8TdB5TZVXeFXaA24hoB2OC0ddBgwMa6RMQ4hVqb6Q3prn+ltprggL0gcc6ccI0y0HF+XnayACSlilpfFLQNBRW3DeHteYwKhOe0jP44wd3CEUlEhD8FXeU8mA5Tyz2xJtIbOXMVHMAAOWzCgeQ==';
const key = (b64: string) => Buffer.from(b64, 'base64');

const FILE = [
  '# comment line',
  '',
  `node1.lan,10.0.0.5 ssh-ed25519 ${A} user@example`,
  `[node2.lan]:2222 ssh-ed25519 ${B}`,
  `|1|+tnt+FABPKYtO467eJnCXWuXyiQ=|ZqsxH3kgmDkV35A6KTAdFdFpGDY= ssh-ed25519 ${A}`,
  `|1|buEuUk7MBwR1qNpivtUPwb7g9Go=|XlFQD9srmtOcKd5esFZpNNb5+SQ= ssh-ed25519 ${B}`,
  `*.rack.lan,!bad.rack.lan ssh-rsa ${R}`,
  `@revoked * ssh-ed25519 ${C}`,
  `@cert-authority *.lan ssh-rsa ${R}`,
  'not a valid line',
  `@bogus host ssh-ed25519 ${A}`,
  `mixed.lan ssh-rsa ${A}`,
].join('\n');
const parsed = parseKnownHosts(FILE);
const hashedOnly = parseKnownHosts(FILE.split('\n').slice(4, 6).join('\n')).entries;

describe('parseKnownHosts', () => {
  it('reads entries with their line numbers and markers, and reports bad lines', () => {
    expect(parsed.entries.map((e) => [e.line, e.marker, e.keyType])).toEqual([
      [3, null, 'ssh-ed25519'],
      [4, null, 'ssh-ed25519'],
      [5, null, 'ssh-ed25519'],
      [6, null, 'ssh-ed25519'],
      [7, null, 'ssh-rsa'],
      [8, 'revoked', 'ssh-ed25519'],
      [9, 'cert-authority', 'ssh-rsa'],
    ]);
    expect(parsed.problems.map((p) => p.line)).toEqual([10, 11, 12]);
    expect(parsed.problems[1]!.message).toContain('@bogus');
    expect(parsed.problems[2]!.message).toContain('the key says it is ssh-ed25519, the line says ssh-rsa');
  });
});

describe('verifyHostKey', () => {
  const cases: Array<[string, string, number, string, ReturnType<typeof verifyHostKey>]> = [
    ['plain name, port 22', 'node1.lan', 22, A, { kind: 'match', line: 3 }],
    ['second pattern of a line (an address)', '10.0.0.5', 22, A, { kind: 'match', line: 3 }],
    ['names compare case-insensitively', 'NODE1.lan', 22, A, { kind: 'match', line: 3 }],
    ['[host]:port entry', 'node2.lan', 2222, B, { kind: 'match', line: 4 }],
    ['a port other than the entry is another host', 'node1.lan', 2200, A, { kind: 'unknown' }],
    ['changed key of the same type', 'node1.lan', 22, B, { kind: 'mismatch', line: 3, knownType: 'ssh-ed25519' }],
    ['a revoked key is refused for any host', 'anything.example', 22, C, { kind: 'revoked', line: 8 }],
    ['wildcard pattern', 'gpu1.rack.lan', 22, R, { kind: 'match', line: 7 }],
    ['negated pattern excludes the host', 'bad.rack.lan', 22, R, { kind: 'unknown' }],
    ['known only with another key type counts as a change', 'gpu1.rack.lan', 22, A, { kind: 'mismatch', line: 7, knownType: 'ssh-rsa' }],
    ['a cert-authority line never vouches for a plain key', 'other.lan', 22, R, { kind: 'unknown' }],
    ['unknown host', 'elsewhere.example', 22, A, { kind: 'unknown' }],
  ];
  it.each(cases)('%s', (_, host, port, presented, verdict) => {
    expect(verifyHostKey(parsed.entries, host, port, key(presented))).toEqual(verdict);
  });

  it('matches hashed names, bare on port 22 and [host]:port otherwise', () => {
    expect(verifyHostKey(hashedOnly, 'node1.lan', 22, key(A))).toEqual({ kind: 'match', line: 1 });
    expect(verifyHostKey(hashedOnly, 'node2.lan', 2222, key(B))).toEqual({ kind: 'match', line: 2 });
    expect(verifyHostKey(hashedOnly, 'node1.lan', 22, key(B))).toEqual({ kind: 'mismatch', line: 1, knownType: 'ssh-ed25519' });
    expect(verifyHostKey(hashedOnly, 'node2.lan', 22, key(B))).toEqual({ kind: 'unknown' });
  });
});

describe('knownKeyAlgorithms', () => {
  it('offers only the known key types of the host, RSA with SHA-2 signatures first', () => {
    expect(knownKeyAlgorithms(parsed.entries, 'node1.lan', 22)).toEqual(['ssh-ed25519']);
    expect(knownKeyAlgorithms(parsed.entries, 'gpu1.rack.lan', 22)).toEqual(['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']);
    expect(knownKeyAlgorithms(parsed.entries, 'elsewhere.example', 22)).toEqual([]);
  });
});

describe('hostKeyRefusal', () => {
  const ctx = { file: '/home/u/.ssh/known_hosts', host: 'node2.lan', port: 2222, presented: key(A) };
  it('a changed key names the file, the line, the fingerprint and the fix', () => {
    const r = hostKeyRefusal({ kind: 'mismatch', line: 4, knownType: 'ssh-ed25519' }, ctx);
    expect(keyFingerprint(key(A))).toBe('SHA256:Ayjfzid/531RQuHkdylST1Lw1w8AsubJQkyFJ8I3824');
    expect(r.message).toContain('[node2.lan]:2222 changed');
    expect(r.message).toContain('SHA256:Ayjfzid/531RQuHkdylST1Lw1w8AsubJQkyFJ8I3824');
    expect(r.message).toContain('/home/u/.ssh/known_hosts line 4');
    expect(r.message).toContain('Nothing was sent to the node.');
    expect(r.fix).toContain("ssh-keygen -R '[node2.lan]:2222' -f /home/u/.ssh/known_hosts");
  });
  it('an unknown host is told to add the key with ssh-keyscan or ssh once', () => {
    const r = hostKeyRefusal({ kind: 'unknown' }, ctx);
    expect(r.message).toContain('is not in /home/u/.ssh/known_hosts');
    expect(r.fix).toContain('ssh-keyscan -p 2222 node2.lan >> /home/u/.ssh/known_hosts');
    expect(r.fix).toContain('ssh -p 2222 node2.lan');
  });
  it('a revoked key names its line', () => {
    expect(hostKeyRefusal({ kind: 'revoked', line: 8 }, ctx).message).toContain('@revoked in /home/u/.ssh/known_hosts line 8');
  });
});
