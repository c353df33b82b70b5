/**
 * The per-install certificate authority: created on first use in <data>/tls (the key owner-only),
 * and the server certificate it signs, issued again at start when it is missing, expires within
 * RENEW_DAYS, no longer covers every server name, or was signed by another CA.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';
import { issueCa, issueLeaf } from './issue-cert.js';

export const CA_DAYS = 3650;
/** Under Apple's and Chromium's limit of 398 days for server certificates. */
export const LEAF_DAYS = 397;
export const RENEW_DAYS = 30;
const DAY_MS = 24 * 60 * 60 * 1000;

export interface TlsFiles {
  dir: string;
  caCert: string;
  caKey: string;
  cert: string;
  key: string;
}

export const tlsFiles = (dataDir: string): TlsFiles => {
  const dir = path.join(dataDir, 'tls');
  return { dir, caCert: path.join(dir, 'ca-cert.pem'), caKey: path.join(dir, 'ca-key.pem'), cert: path.join(dir, 'server-cert.pem'), key: path.join(dir, 'server-key.pem') };
};

export interface ServerCredentials {
  cert: string;
  key: string;
  /** The install CA's certificate (PEM), for download; null with a user-provided certificate. */
  caCert: string | null;
  /** Names the certificate covers. */
  names: string[];
  validTo: Date;
  /** True when this start issued a new server certificate (or CA). */
  issued: boolean;
}

/** Writes owner-only: a new file then a rename, so a reader never sees half a key. */
function writePrivate(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, file);
}

/** True when `cert` covers `name` (host name or IP address). */
export function certCovers(cert: X509Certificate, name: string): boolean {
  const n = name.replace(/^\[|\]$/g, '');
  return isIP(n) ? cert.checkIP(n) !== undefined : cert.checkHost(n, { wildcards: true, subject: 'never' }) !== undefined;
}

/** Why the server certificate must be issued again, or null while it may stay. */
export function leafRenewReason(leaf: X509Certificate | null, ca: X509Certificate, names: readonly string[], now: Date): string | null {
  if (!leaf) return 'none yet';
  if (!leaf.checkIssued(ca) || !leaf.verify(ca.publicKey)) return 'signed by another CA';
  const left = (new Date(leaf.validTo).getTime() - now.getTime()) / DAY_MS;
  if (left < RENEW_DAYS) return `expires in ${Math.max(0, Math.floor(left))} days`;
  const missing = names.filter((n) => !certCovers(leaf, n));
  if (missing.length) return `does not cover ${missing.join(', ')}`;
  return null;
}

const CA_CN_PREFIX = 'AIMA install CA';

export interface InstallCa {
  certPem: string;
  keyPem: string;
  /** The CA's common name, the issuer of what it signs. */
  subjectCn: string;
  /** True when this call created it. */
  issued: boolean;
}

/**
 * The per-install CA, created when missing or when it would expire before a leaf it signs. It signs
 * the server's own certificate and the certificates of engines on other nodes.
 */
export function ensureInstallCa(dataDir: string, now = new Date()): InstallCa {
  const f = tlsFiles(dataDir);
  mkdirSync(f.dir, { recursive: true, mode: 0o700 });
  let ca: X509Certificate | null = null;
  if (existsSync(f.caCert) && existsSync(f.caKey)) {
    ca = new X509Certificate(readFileSync(f.caCert));
    if (process.platform !== 'win32') chmodSync(f.caKey, 0o600);
    const left = (new Date(ca.validTo).getTime() - now.getTime()) / DAY_MS;
    // A CA that would expire before the leaf it signs is replaced (the user trusts the new one once more).
    if (left < LEAF_DAYS) ca = null;
  }
  let issued = false;
  if (!ca) {
    const made = issueCa(`${CA_CN_PREFIX} ${now.toISOString().slice(0, 10)}`, CA_DAYS, now);
    writePrivate(f.caKey, made.keyPem);
    writeFileSync(f.caCert, made.certPem);
    ca = new X509Certificate(made.certPem);
    issued = true;
  }
  return { certPem: ca.toString(), keyPem: readFileSync(f.caKey, 'utf8'), subjectCn: /CN=([^\n]+)/.exec(ca.subject)?.[1] ?? CA_CN_PREFIX, issued };
}

/** The CA and a server certificate for `names`, issuing what is missing or due. */
export function ensureInstallCerts(dataDir: string, names: readonly string[], now = new Date()): ServerCredentials {
  const f = tlsFiles(dataDir);
  const installCa = ensureInstallCa(dataDir, now);
  const ca = new X509Certificate(installCa.certPem);
  let issued = installCa.issued;
  const leaf = existsSync(f.cert) && existsSync(f.key) ? new X509Certificate(readFileSync(f.cert)) : null;
  if (leafRenewReason(leaf, ca, names, now) !== null) {
    const made = issueLeaf(installCa, names, LEAF_DAYS, now);
    writePrivate(f.key, made.keyPem);
    writeFileSync(f.cert, made.certPem);
    issued = true;
  }
  const cert = readFileSync(f.cert, 'utf8');
  const key = readFileSync(f.key, 'utf8');
  createPrivateKey(key); // fails loudly on a damaged key file
  return { cert, key, caCert: installCa.certPem, names: [...names], validTo: new Date(new X509Certificate(cert).validTo), issued };
}
