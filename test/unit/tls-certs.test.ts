/** The install CA and its server certificate (issued with node:crypto alone), and the user-certificate checks. */
import { X509Certificate, generateKeyPairSync } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { issueCa, issueLeaf, ipBytes } from '../../src/core/server/tls/issue-cert.js';
import { ensureInstallCerts, leafRenewReason, tlsFiles } from '../../src/core/server/tls/install-ca.js';
import { loadUserCert } from '../../src/core/server/tls/user-cert.js';
import { serverNames } from '../../src/core/server/tls/server-names.js';

const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'aima-tls-'));
const DAY = 24 * 60 * 60 * 1000;

describe('issued certificates', () => {
  it('a leaf signed by the CA, with DNS and IP names, that OpenSSL verifies', () => {
    const ca = issueCa('Test CA', 3650);
    const leaf = issueLeaf({ ...ca, subjectCn: 'Test CA' }, ['aima.test', 'localhost', '127.0.0.1', '::1', '192.168.1.5'], 397);
    const c = new X509Certificate(leaf.certPem);
    const a = new X509Certificate(ca.certPem);
    expect(a.ca).toBe(true);
    expect(c.ca).toBe(false);
    expect(c.checkIssued(a)).toBe(true);
    expect(c.verify(a.publicKey)).toBe(true);
    expect(c.checkHost('aima.test')).toBe('aima.test');
    expect(c.checkIP('::1')).toBe('::1');
    expect(c.checkIP('192.168.1.5')).toBe('192.168.1.5');
    expect(c.checkHost('other.test')).toBeUndefined();
    expect((new Date(c.validTo).getTime() - Date.now()) / DAY).toBeGreaterThan(396);
    const dir = tmp();
    writeFileSync(path.join(dir, 'ca.pem'), ca.certPem);
    writeFileSync(path.join(dir, 'leaf.pem'), leaf.certPem);
    const out = execFileSync('openssl', ['verify', '-purpose', 'sslserver', '-CAfile', path.join(dir, 'ca.pem'), path.join(dir, 'leaf.pem')], { encoding: 'utf8' });
    expect(out).toContain('OK');
  });

  it('IPv6 address bytes, compressed and with an IPv4 tail', () => {
    expect(ipBytes('::1').toString('hex')).toBe('00000000000000000000000000000001');
    expect(ipBytes('[fd00::2:3]').toString('hex')).toBe('fd000000000000000000000000020003');
    expect(ipBytes('::ffff:10.0.0.1').toString('hex')).toBe('00000000000000000000ffff0a000001');
    expect(ipBytes('10.1.2.3').toString('hex')).toBe('0a010203');
  });
});

describe('the install CA', () => {
  it('is created once, its key owner-only; the server certificate stays until a reason to renew', () => {
    const dir = tmp();
    const first = ensureInstallCerts(dir, ['box', '127.0.0.1']);
    expect(first.issued).toBe(true);
    if (process.platform !== 'win32') expect(statSync(tlsFiles(dir).caKey).mode & 0o777).toBe(0o600);
    if (process.platform !== 'win32') expect(statSync(tlsFiles(dir).key).mode & 0o777).toBe(0o600);
    const again = ensureInstallCerts(dir, ['box', '127.0.0.1']);
    expect(again.issued).toBe(false);
    expect(again.cert).toBe(first.cert);
    // A new name: a new certificate from the same CA.
    const more = ensureInstallCerts(dir, ['box', 'aima.test', '127.0.0.1']);
    expect(more.issued).toBe(true);
    expect(more.caCert).toBe(first.caCert);
    expect(new X509Certificate(more.cert).checkHost('aima.test')).toBe('aima.test');
    // 29 days before it expires: renewed.
    const late = new Date(new Date(new X509Certificate(more.cert).validTo).getTime() - 29 * DAY);
    const renewed = ensureInstallCerts(dir, ['box', 'aima.test', '127.0.0.1'], late);
    expect(renewed.issued).toBe(true);
    expect(new Date(renewed.validTo).getTime()).toBeGreaterThan(late.getTime() + 390 * DAY);
  });

  it('renew reasons, table', () => {
    const ca = issueCa('CA', 3650);
    const other = issueCa('CA', 3650);
    const caX = new X509Certificate(ca.certPem);
    const leaf = new X509Certificate(issueLeaf({ ...ca, subjectCn: 'CA' }, ['a'], 397).certPem);
    const foreign = new X509Certificate(issueLeaf({ ...other, subjectCn: 'CA' }, ['a'], 397).certPem);
    const now = new Date();
    expect(leafRenewReason(null, caX, ['a'], now)).toBe('none yet');
    expect(leafRenewReason(leaf, caX, ['a'], now)).toBeNull();
    expect(leafRenewReason(leaf, caX, ['a', 'b'], now)).toBe('does not cover b');
    expect(leafRenewReason(foreign, caX, ['a'], now)).toBe('signed by another CA');
    expect(leafRenewReason(leaf, caX, ['a'], new Date(now.getTime() + 380 * DAY))).toMatch(/^expires in \d+ days$/);
  });
});

describe('a user certificate', () => {
  const ca = issueCa('User CA', 3650);
  const write = (dir: string, name: string, text: string) => {
    const f = path.join(dir, name);
    writeFileSync(f, text);
    return f;
  };

  it('is accepted when it matches its key, is valid and covers the names', () => {
    const dir = tmp();
    const leaf = issueLeaf({ ...ca, subjectCn: 'User CA' }, ['aima.test'], 30);
    const creds = loadUserCert(write(dir, 'c.pem', leaf.certPem), write(dir, 'k.pem', leaf.keyPem), ['aima.test']);
    expect(creds.caCert).toBeNull();
  });

  it('is refused, with the reason and the fix, when the key does not match, it expired, or a name is not covered', () => {
    const dir = tmp();
    const leaf = issueLeaf({ ...ca, subjectCn: 'User CA' }, ['aima.test'], 30);
    const cert = write(dir, 'c.pem', leaf.certPem);
    const otherKey = write(dir, 'other.pem', generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
    expect(() => loadUserCert(cert, otherKey, ['aima.test'])).toThrow(/does not match the certificate/);
    const old = issueLeaf({ ...ca, subjectCn: 'User CA' }, ['aima.test'], 10, new Date(Date.now() - 40 * DAY));
    expect(() => loadUserCert(write(dir, 'old.pem', old.certPem), write(dir, 'oldk.pem', old.keyPem), ['aima.test'])).toThrow(/expired on/);
    expect(() => loadUserCert(cert, write(dir, 'k.pem', leaf.keyPem), ['aima.test', '10.9.8.7'])).toThrow(/does not cover 10\.9\.8\.7 \(it covers DNS:aima\.test\)/);
    expect(() => loadUserCert(path.join(dir, 'missing.pem'), otherKey, [])).toThrow(/Cannot read the TLS certificate/);
  });
});

describe('server names', () => {
  const addresses = [
    { address: '127.0.0.1', internal: true, family: 'IPv4' },
    { address: '192.168.1.20', internal: false, family: 'IPv4' },
    { address: '::1', internal: true, family: 'IPv6' },
    { address: 'fe80::1', internal: false, family: 'IPv6' },
    { address: 'fd00::20', internal: false, family: 'IPv6' },
  ];
  it.each([
    ['0.0.0.0', [], ['box', 'box.local', 'localhost', '127.0.0.1', '192.168.1.20']],
    ['::', [], ['box', 'box.local', 'localhost', '127.0.0.1', '192.168.1.20', '::1', 'fd00::20']],
    ['192.168.1.20', ['AIMA.test'], ['aima.test', 'box', 'box.local', 'localhost', '192.168.1.20', '127.0.0.1', '::1']],
  ])('bound to %s with extra names %j', (bindHost, extra, expected) => {
    expect(serverNames({ hostname: 'box', addresses, bindHost, extra })).toEqual(expected);
  });
});
