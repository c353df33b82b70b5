/**
 * What a server bound beyond loopback serves HTTPS with: the user's certificate when one is given
 * (checked), else the install CA's server certificate for the host's names. Loopback binds get
 * none (plain HTTP, as before).
 */
import { X509Certificate } from 'node:crypto';
import os from 'node:os';
import { AimaError } from '../../../shared/errors.js';
import { isLoopbackHost } from '../security.js';
import { certCovers, ensureInstallCerts, type ServerCredentials } from './install-ca.js';
import { serverNames } from './server-names.js';
import { loadUserCert } from './user-cert.js';

export interface TlsChoice {
  /** A user certificate and key (PEM files); both or neither. */
  certFile?: string | null;
  keyFile?: string | null;
  /** Names of the host the resolver does not report (a DNS name given to it elsewhere). */
  names?: readonly string[];
}

export interface ServerTls {
  /** Names the server answers to: the Host check's list and the remote URLs. */
  names: string[];
  creds: ServerCredentials;
  source: 'install-ca' | 'user';
}

/** SHA-256 fingerprint of a PEM certificate, as browsers show it (AA:BB:…). */
export function fingerprint(certPem: string): string {
  return new X509Certificate(certPem).fingerprint256;
}

export function machineNames(bindHost: string, extra: readonly string[] = []): string[] {
  const addresses = Object.values(os.networkInterfaces())
    .flat()
    .filter((a) => a !== undefined);
  return serverNames({ hostname: os.hostname(), addresses, bindHost, extra });
}

/** The TLS set-up for `bindHost`, or null on loopback. Throws AimaError naming the problem with a user certificate. */
export function serverTls(dataDir: string, bindHost: string, choice: TlsChoice): ServerTls | null {
  if (isLoopbackHost(bindHost)) return null;
  if (Boolean(choice.certFile) !== Boolean(choice.keyFile)) {
    throw new AimaError('bad-request', `A TLS ${choice.certFile ? 'certificate was given without its key' : 'key was given without its certificate'}.`, 'Give both --tls-cert and --tls-key, or neither (AIMA then issues a certificate from its own CA).');
  }
  const all = machineNames(bindHost, choice.names);
  if (choice.certFile && choice.keyFile) {
    // What must be covered: the names the user gave and a specific bind address; for a wildcard
    // bind without names, at least one name of the host.
    const required = [...(choice.names ?? []), ...(bindHost === '0.0.0.0' || bindHost === '::' ? [] : [bindHost])];
    const creds = loadUserCert(choice.certFile, choice.keyFile, required);
    const cert = new X509Certificate(creds.cert);
    const covered = all.filter((n) => certCovers(cert, n));
    if (covered.length === 0) {
      throw new AimaError(
        'bad-request',
        `The TLS certificate ${choice.certFile} covers none of this machine's names (${all.join(', ')}; it covers ${cert.subjectAltName ?? 'no subjectAltName'}).`,
        'Name the host the certificate is for with --name (a DNS name that points at this machine), or use a certificate for one of those names.',
      );
    }
    return { names: covered, creds: { ...creds, names: covered }, source: 'user' };
  }
  return { names: all, creds: ensureInstallCerts(dataDir, all), source: 'install-ca' };
}
