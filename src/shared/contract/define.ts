/** Building blocks for the API contract: a call is a pair of schemas, an event one schema. */
import type { z } from 'zod';

export interface CallSpec<P extends z.ZodType, R extends z.ZodType> {
  params: P;
  result: R;
  /** One line for `aima --help`-style listings and docs. */
  summary: string;
}

export function defineCall<P extends z.ZodType, R extends z.ZodType>(
  params: P,
  result: R,
  summary: string,
): CallSpec<P, R> {
  return { params, result, summary };
}
