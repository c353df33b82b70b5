/**
 * A certificate and key the user provides (`aima serve --tls-cert F --tls-key F`, or the settings
 * tlsCertFile/tlsKeyFile): checked before the server uses them, each problem a clear error.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { AimaError } from '../../../shared/errors.js';
import { certCovers, type ServerCredentials } from './install-ca.js';

function readPem(file: string, what: string, flag: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new AimaError('bad-request', `Cannot read the TLS ${what} ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}.`, `Check the path given with ${flag}.`);
  }
}

/**
 * Reads and checks a user certificate: it parses, its key parses and matches it, it is valid now,
 * and it covers `names` (the names clients use: the bind address or those given). The first
 * certificate in the file is the server's; any after it are the chain sent along.
 */
export function loadUserCert(certFile: string, keyFile: string, names: readonly string[], now = new Date()): ServerCredentials {
  const certPem = readPem(certFile, 'certificate', '--tls-cert');
  const keyPem = readPem(keyFile, 'key', '--tls-key');
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch (err) {
    throw new AimaError('bad-request', `${certFile} is not a PEM certificate (${(err as Error).message}).`, 'Give --tls-cert a file that starts with -----BEGIN CERTIFICATE-----.');
  }
  let key;
  try {
    key = createPrivateKey(keyPem);
  } catch (err) {
    throw new AimaError('bad-request', `${keyFile} is not an unencrypted PEM private key (${(err as Error).message}).`, 'Give --tls-key the key file without a passphrase (openssl pkey -in KEY -out plain.pem).');
  }
  if (!cert.checkPrivateKey(key)) {
    throw new AimaError('bad-request', `The TLS key ${keyFile} does not match the certificate ${certFile}.`, 'Give --tls-key the private key the certificate was issued for.');
  }
  const from = new Date(cert.validFrom);
  const to = new Date(cert.validTo);
  if (now < from) {
    throw new AimaError('bad-request', `The TLS certificate ${certFile} is not valid yet (from ${from.toISOString()}).`, "Check this machine's clock, or use a certificate valid now.");
  }
  if (now > to) {
    throw new AimaError('bad-request', `The TLS certificate ${certFile} expired on ${to.toISOString()}.`, 'Renew it, or leave --tls-cert out to use the certificate AIMA issues from its own CA.');
  }
  const missing = names.filter((n) => !certCovers(cert, n));
  if (missing.length) {
    throw new AimaError(
      'bad-request',
      `The TLS certificate ${certFile} does not cover ${missing.join(', ')} (it covers ${cert.subjectAltName ?? 'no subjectAltName'}).`,
      'Use a certificate whose subjectAltName lists the names clients use, or bind and name only what it covers (--host, --name).',
    );
  }
  return { cert: certPem, key: keyPem, caCert: null, names: [...names], validTo: to, issued: false };
}
