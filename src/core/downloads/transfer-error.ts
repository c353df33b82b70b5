/** A failure worth retrying (network, 5xx, 429, a cut body); others (404, 403, 416) are final. */
export class TransferError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'TransferError';
  }
}

export function statusError(status: number, url: string): TransferError {
  if (status === 407) return new TransferError(`the proxy on the way to ${new URL(url).host} asked for a login (HTTP 407). ${PROXY_LOGIN_FIX}`, false, status);
  const retryable = status >= 500 || status === 429 || status === 408;
  return new TransferError(`${new URL(url).host} answered HTTP ${status}`, retryable, status);
}

/**
 * What the range reader leaves to node:http (http-range.ts) for the rest of a file: a body framed
 * otherwise (chunked: UnsupportedFramingError) or a URL reached through a proxy.
 */
export class GeneralClientNeeded extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GeneralClientNeeded';
  }
}

/** OpenSSL's verdicts on a certificate Node does not trust: retrying cannot help, the user can. */
const UNTRUSTED_CERTIFICATE = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** Only a proxy answers 407 (Proxy Authentication Required). */
export const PROXY_LOGIN_FIX = 'Put the login in the proxy variable: HTTPS_PROXY=http://USER:PASSWORD@HOST:PORT (percent-encode special characters in the password).';

export const UNTRUSTED_CERTIFICATE_FIX =
  'If this is your own mirror signed by a private certificate authority, start AIMA with NODE_EXTRA_CA_CERTS=/path/to/that-ca.pem; otherwise check the address (HF_ENDPOINT) and the system clock.';

/** The certificate error in `err` or its cause (fetch wraps it), or null. */
export function untrustedCertificate(err: unknown): Error | null {
  for (let e = err; e instanceof Error; e = e.cause) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && UNTRUSTED_CERTIFICATE.has(code)) return e;
  }
  return null;
}

/** A socket error of either HTTP client: retryable (a lost network comes back), except an untrusted certificate. */
export function networkError(host: string, err: Error): TransferError {
  if (untrustedCertificate(err)) return new TransferError(`${host}: its TLS certificate is not trusted (${err.message}). ${UNTRUSTED_CERTIFICATE_FIX}`, false);
  return new TransferError(`${host}: ${err.message}`, true);
}
