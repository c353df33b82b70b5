/**
 * The one error shape every adapter (IPC, HTTP, CLI) carries: a closed code, a message that names
 * the problem, and a fix the user can act on.
 */
import { z } from 'zod';

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

export const ApiErrorBody = z.object({
  code: z.enum(errorCodes),
  message: z.string(),
  fix: z.string().optional(),
});
export type ApiErrorBody = z.infer<typeof ApiErrorBody>;

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
    const parsed = ApiErrorBody.safeParse(err);
    if (parsed.success) return AimaError.fromBody(parsed.data);
  }
  return new AimaError('internal', err instanceof Error ? err.message : String(err));
}

/** One line for a terminal: the message, then the fix. */
export function formatError(err: AimaError): string {
  return err.fix ? `${err.message} ${err.fix}` : err.message;
}
