/**
 * The one error shape every adapter (IPC, HTTP, CLI) carries: a closed code, a message that names
 * the problem, and a fix the user can act on. Free of zod, because every CLI command loads it: the
 * three-field body is checked by hand.
 */

export const errorCodes = [
  'bad-request',
  'unauthorized',
  'forbidden',
  'not-found',
  'method-not-allowed',
  'conflict',
  'too-large',
  'unavailable',
  'cancelled',
  'internal',
] as const;
export type ErrorCode = (typeof errorCodes)[number];

export interface ApiErrorBody {
  code: ErrorCode;
  message: string;
  fix?: string;
}

/** The error body in `value` (extra fields dropped), or null when it is not one. */
export function parseErrorBody(value: unknown): ApiErrorBody | null {
  if (typeof value !== 'object' || value === null) return null;
  const { code, message, fix } = value as Record<string, unknown>;
  if (typeof code !== 'string' || !(errorCodes as readonly string[]).includes(code) || typeof message !== 'string') return null;
  if (fix !== undefined && typeof fix !== 'string') return null;
  return fix === undefined ? { code: code as ErrorCode, message } : { code: code as ErrorCode, message, fix };
}

/** HTTP status for each code, used by the HTTP adapter and understood by its client. */
export const httpStatusOf: Record<ErrorCode, number> = {
  'bad-request': 400,
  unauthorized: 401,
  forbidden: 403,
  'not-found': 404,
  'method-not-allowed': 405,
  conflict: 409,
  'too-large': 413,
  unavailable: 503,
  cancelled: 499,
  internal: 500,
};

/** An error meant for the user: the message says what is wrong, `fix` what to do about it. */
export class AimaError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly fix?: string,
  ) {
    super(message);
    this.name = 'AimaError';
  }

  toBody(): ApiErrorBody {
    return this.fix ? { code: this.code, message: this.message, fix: this.fix } : { code: this.code, message: this.message };
  }

  static fromBody(body: ApiErrorBody): AimaError {
    return new AimaError(body.code, body.message, body.fix);
  }
}

/** Turns anything thrown into an AimaError; unknown errors become `internal` with their message kept. */
export function toAimaError(err: unknown): AimaError {
  if (err instanceof AimaError) return err;
  if (err && typeof err === 'object' && 'code' in err && 'message' in err) {
    const body = parseErrorBody(err);
    if (body) return AimaError.fromBody(body);
  }
  return new AimaError('internal', err instanceof Error ? err.message : String(err));
}

/** One line for a terminal: the message, then the fix. */
export function formatError(err: AimaError): string {
  return err.fix ? `${err.message} ${err.fix}` : err.message;
}
