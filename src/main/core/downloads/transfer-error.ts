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
  const retryable = status >= 500 || status === 429 || status === 408;
  return new TransferError(`${new URL(url).host} answered HTTP ${status}`, retryable, status);
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
