/**
 * Issues X.509 certificates (ECDSA P-256, SHA-256): the per-install CA and the server leaf it
 * signs, whose subjectAltName lists the names and addresses clients use to reach the server.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import { bits, bool, explicit, implicit, octets, oid, seq, set, time, uint, utf8 } from './der.js';

const ECDSA_SHA256 = seq(oid('1.2.840.10045.4.3.2'));
const DAY_MS = 24 * 60 * 60 * 1000;

export interface IssuedCert {
  certPem: string;
  keyPem: string;
}

const name = (cn: string) => seq(set(seq(oid('2.5.4.10'), utf8('AIMA'))), set(seq(oid('2.5.4.3'), utf8(cn))));
const extension = (id: string, critical: boolean, value: Buffer) => seq(oid(id), ...(critical ? [bool(true)] : []), octets(value));
/** The key identifier RFC 5280 4.2.1.2 suggests: SHA-1 of the subjectPublicKey bits. */
const keyId = (spki: Buffer) => createHash('sha1').update(spki.subarray(spki.length - 65)).digest();

function toPem(der: Buffer, label: string): string {
  const b64 = der.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

/** The IP address bytes for an iPAddress SAN (v4 or v6, brackets allowed). */
export function ipBytes(ip: string): Buffer {
  const a = ip.replace(/^\[|\]$/g, '');
  if (isIP(a) === 4) return Buffer.from(a.split('.').map(Number));
  // An IPv4 tail (::ffff:1.2.3.4) is two groups.
  const hex = a.replace(/(\d+)\.(\d+)\.(\d+)\.(\d+)$/, (_, b0: string, b1: string, b2: string, b3: string) => `${((+b0 << 8) | +b1).toString(16)}:${((+b2 << 8) | +b3).toString(16)}`);
  const [head, tail] = hex.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

function certificate(opts: { subject: Buffer; issuer: Buffer; spki: Buffer; signer: KeyObject; days: number; notBefore: Date; extensions: Buffer[] }): string {
  const serial = randomBytes(16);
  serial[0]! &= 0x7f;
  const tbs = seq(
    explicit(0, uint(Buffer.from([2]))),
    uint(serial),
    ECDSA_SHA256,
    opts.issuer,
    seq(time(opts.notBefore), time(new Date(opts.notBefore.getTime() + opts.days * DAY_MS))),
    opts.subject,
    opts.spki,
    explicit(3, seq(...opts.extensions)),
  );
  const signature = sign('sha256', tbs, opts.signer);
  return toPem(seq(tbs, ECDSA_SHA256, bits(signature)), 'CERTIFICATE');
}

/** An hour back, so a client whose clock is slightly behind still accepts a new certificate. */
const backdated = (now: Date) => new Date(now.getTime() - 60 * 60 * 1000);

/** A new CA: its own key, self-signed, allowed to sign server certificates only (pathLen 0). */
export function issueCa(commonName: string, days: number, now = new Date()): IssuedCert {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const subject = name(commonName);
  const certPem = certificate({
    subject,
    issuer: subject,
    spki,
    signer: privateKey,
    days,
    notBefore: backdated(now),
    extensions: [
      extension('2.5.29.19', true, seq(bool(true), uint(Buffer.from([0])))),
      // keyCertSign and cRLSign.
      extension('2.5.29.15', true, bits(Buffer.from([0x06]), 1)),
      extension('2.5.29.14', false, octets(keyId(spki))),
    ],
  });
  return { certPem, keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
}

/** A server certificate for `names` (host names and IP addresses), signed by the CA. */
export function issueLeaf(ca: { certPem: string; keyPem: string; subjectCn: string }, names: readonly string[], days: number, now = new Date()): IssuedCert {
  if (names.length === 0) throw new Error('A server certificate needs at least one name.');
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const caSpki = createPublicKey(ca.certPem).export({ type: 'spki', format: 'der' });
  const caKey = createPrivateKey(ca.keyPem);
  const sans = names.map((n) => (isIP(n.replace(/^\[|\]$/g, '')) ? implicit(7, ipBytes(n)) : implicit(2, Buffer.from(n, 'ascii'))));
  const dnsName = names.find((n) => !isIP(n.replace(/^\[|\]$/g, ''))) ?? names[0]!;
  const certPem = certificate({
    subject: name(dnsName),
    issuer: name(ca.subjectCn),
    spki,
    signer: caKey,
    days,
    notBefore: backdated(now),
    extensions: [
      extension('2.5.29.19', true, seq()),
      // digitalSignature.
      extension('2.5.29.15', true, bits(Buffer.from([0x80]), 7)),
      // serverAuth.
      extension('2.5.29.37', false, seq(oid('1.3.6.1.5.5.7.3.1'))),
      extension('2.5.29.17', false, seq(...sans)),
      extension('2.5.29.14', false, octets(keyId(spki))),
      extension('2.5.29.35', false, seq(implicit(0, keyId(caSpki)))),
    ],
  });
  return { certPem, keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
}
