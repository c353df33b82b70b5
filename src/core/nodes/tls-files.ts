/**
 * The TLS files of a TCP node, as Docker names them in a `--tls-dir` (DOCKER_CERT_PATH): ca.pem
 * (the CA the engine's certificate is checked against), cert.pem and key.pem (AIMA's client
 * certificate and its key). Each is read and checked here — present, PEM, a certificate or an
 * unencrypted private key, the key matching the certificate, the certificate in its validity
 * period — and a refusal names the file and the fix.
 */
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { AimaError } from '../../shared/errors.js';

export interface NodeTlsFiles {
  ca: string;
  cert: string;
  key: string;
}

const bad = (message: string, fix: string) => new AimaError('bad-request', message, fix);

function readPem(dir: string, name: string): { file: string; text: string } {
  const file = path.join(dir, name);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw bad(`${file} does not exist.`, `--tls-dir must hold ca.pem, cert.pem and key.pem (the names \`docker --tlsverify\` uses); put ${name} there.`);
    throw bad(`${file} cannot be read (${code ?? (err as Error).message}).`, `Let the user running AIMA read ${name}.`);
  }
  if (!/-----BEGIN [A-Z0-9 ]+-----/.test(text)) throw bad(`${file} is not a PEM file.`, `${name} must be PEM (text starting with "-----BEGIN"); convert it with openssl.`);
  return { file, text };
}

function certificate(dir: string, name: string): { file: string; text: string; x509: X509Certificate } {
  const pem = readPem(dir, name);
  try {
    return { ...pem, x509: new X509Certificate(pem.text) };
  } catch (err) {
    throw bad(`${pem.file} holds no certificate AIMA can read (${(err as Error).message}).`, `${name} must be a PEM certificate ("-----BEGIN CERTIFICATE-----").`);
  }
}

function checkValidity(file: string, x509: X509Certificate, now: Date): void {
  if (new Date(x509.validTo) < now) throw bad(`${file} expired on ${new Date(x509.validTo).toISOString()}.`, 'Issue a new certificate and put it in --tls-dir.');
  if (new Date(x509.validFrom) > now) throw bad(`${file} is valid only from ${new Date(x509.validFrom).toISOString()}.`, "Check this machine's clock, or issue a certificate valid now.");
}

/** Reads and checks ca.pem, cert.pem and key.pem in `dir`; throws naming the first bad file. */
export function readNodeTlsFiles(dir: string, now = new Date()): NodeTlsFiles {
  const ca = certificate(dir, 'ca.pem');
  checkValidity(ca.file, ca.x509, now);
  const cert = certificate(dir, 'cert.pem');
  checkValidity(cert.file, cert.x509, now);
  const key = readPem(dir, 'key.pem');
  let keyObject: KeyObject;
  try {
    keyObject = createPrivateKey(key.text);
  } catch (err) {
    const encrypted = /ENCRYPTED/.test(key.text) || /passphrase/i.test((err as Error).message);
    if (encrypted) throw bad(`${key.file} is encrypted with a passphrase.`, `Give AIMA an unencrypted copy (\`openssl pkey -in ${key.file} -out key.pem\`); AIMA keeps it in the secret store.`);
    throw bad(`${key.file} holds no private key AIMA can read (${(err as Error).message}).`, 'key.pem must be the PEM private key of cert.pem.');
  }
  if (!cert.x509.checkPrivateKey(keyObject)) throw bad(`${key.file} is not the key of ${cert.file}.`, 'Put the key that cert.pem was issued for in key.pem.');
  return { ca: ca.text, cert: cert.text, key: key.text };
}
