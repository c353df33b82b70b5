/**
 * Request checks shared by the API translations: every refusal is a 400 that names the field
 * (as a path such as `input[2].content[0].type`), says what is wrong and what to send instead.
 * Nothing a client sends is dropped without a word: unknown fields are refused by name.
 */
import { z } from 'zod';
import { HttpError } from '../../../lib/http.js';

/** A JSON path as the error messages write it: `tools[0].function.name`. */
export function pathText(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out;
}

/** The 400 of a refused field; the message starts with the field's path unless it names it already. */
export function badField(path: string, message: string, code = 'invalid_value'): HttpError {
  return new HttpError(400, path && !message.includes(path) ? `${path}: ${message}` : message, 'invalid_request_error', code, path || null);
}

/**
 * Validates `value` against a (strict) zod schema; the first problem becomes a 400 naming the
 * field, with `where` prefixed to zod's path.
 */
export function check<T extends z.ZodType>(schema: T, value: unknown, where: readonly PropertyKey[], what: string): z.infer<T> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  if (issue.code === 'unrecognized_keys') {
    const keys = issue.keys;
    const path = pathText([...where, ...issue.path, keys[0]!]);
    throw badField(
      path,
      `Unknown field${keys.length > 1 ? 's' : ''} ${keys.map((k) => `"${pathText([...where, ...issue.path, k])}"`).join(', ')} in ${what}. This gateway refuses fields it does not implement rather than drop them; remove ${keys.length > 1 ? 'them' : 'it'} (docs/api-fields.md lists what is accepted).`,
      'unknown_field',
    );
  }
  const path = pathText([...where, ...issue.path]);
  throw badField(path, `Invalid "${path || what}": ${issue.message}.`);
}

/** True for a plain JSON object. */
export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A JSON Schema object (tools' parameters, output formats): any object. */
export const jsonSchemaObject = z.record(z.string(), z.unknown());
