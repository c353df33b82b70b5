/**
 * Why a request was not admitted to a model's queue ({@link ModelQueue} in model-queue.ts): the
 * queue was full, the wait timed out, or the client left. The gateway owns queueing so workers can
 * simply refuse what they cannot take (429) and clients see one consistent policy.
 */

export type AdmissionError =
  | { kind: 'queue-full'; queued: number; limit: number }
  | { kind: 'timeout'; waitedMs: number }
  | { kind: 'aborted' };

export class AdmissionRefused extends Error {
  constructor(readonly reason: AdmissionError) {
    super(reason.kind);
  }
}
