/**
 * Checks generated JSON against a normalized schema (normalize.ts's `check`). The grammar already
 * bounds the structure; this catches what it cannot enforce (numeric bounds, patterns, formats,
 * lengths, uniqueness) and, as a safety net, anything else the grammar let through. The first
 * violation is reported with its keyword and the JSON pointer of the value.
 */
import type { CheckSchema } from './normalize.js';

export interface Violation {
  keyword: string;
  /** JSON pointer of the offending value ("" is the root). */
  path: string;
  message: string;
}

/** Integer bounds at or beyond ±(2^53-1) (what zod emits for `.int()`) constrain nothing in practice. */
const SAFE = Number.MAX_SAFE_INTEGER;

const FORMAT_TESTS: Record<string, RegExp> = {
  'date-time': /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/,
  date: /^\d{4}-\d{2}-\d{2}$/,
  time: /^\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})?$/,
  email: /^[^\s@]+@[^\s@]+\.[^\s@]+$/,
  uuid: /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/,
  ipv4: /^((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/,
};

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

const typeMatches = (v: unknown, t: string) => {
  const actual = typeOf(v);
  return actual === t || (t === 'number' && actual === 'integer');
};

/** Deep equality of JSON values (for enum, const and uniqueItems). */
function same(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k) => same((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

const pointer = (path: string, key: string | number) => `${path}/${String(key).replaceAll('~', '~0').replaceAll('/', '~1')}`;
const fail = (keyword: string, path: string, message: string): Violation => ({ keyword, path, message: `${path || '/'}: ${message}` });

/** The first violation of `schema` by `value`, or null when it validates. */
export function validateJson(value: unknown, schema: CheckSchema, path = ''): Violation | null {
  const s = schema;
  if (s.type !== undefined) {
    const types = Array.isArray(s.type) ? (s.type as string[]) : [s.type as string];
    if (!types.some((t) => typeMatches(value, t))) return fail('type', path, `expected ${types.join(' or ')}, got ${typeOf(value)}`);
  }
  if (s.const !== undefined && !same(value, s.const)) return fail('const', path, `expected ${JSON.stringify(s.const)}, got ${JSON.stringify(value)}`);
  if (s.enum !== undefined && !(s.enum as unknown[]).some((e) => same(value, e))) return fail('enum', path, `${JSON.stringify(value)} is not one of ${JSON.stringify(s.enum)}`);
  if (s.anyOf !== undefined) {
    const branches = s.anyOf as CheckSchema[];
    const results = branches.map((b) => validateJson(value, b, path));
    if (results.every((r) => r !== null)) return fail('anyOf', path, `matches none of the anyOf alternatives (first: ${results[0]!.message})`);
  }
  if (s.oneOf !== undefined) {
    const branches = s.oneOf as CheckSchema[];
    const matching = branches.filter((b) => validateJson(value, b, path) === null).length;
    if (matching !== 1) return fail('oneOf', path, `matches ${matching} of the oneOf alternatives, exactly one is required`);
  }

  if (typeof value === 'number') {
    const min = s.minimum as number | undefined;
    const max = s.maximum as number | undefined;
    if (min !== undefined && min > -SAFE && value < min) return fail('minimum', path, `${value} is less than the minimum ${min}`);
    if (max !== undefined && max < SAFE && value > max) return fail('maximum', path, `${value} is greater than the maximum ${max}`);
    const xmin = s.exclusiveMinimum as number | undefined;
    const xmax = s.exclusiveMaximum as number | undefined;
    if (xmin !== undefined && xmin > -SAFE && value <= xmin) return fail('exclusiveMinimum', path, `${value} is not greater than ${xmin}`);
    if (xmax !== undefined && xmax < SAFE && value >= xmax) return fail('exclusiveMaximum', path, `${value} is not less than ${xmax}`);
    const step = s.multipleOf as number | undefined;
    if (step !== undefined) {
      const q = value / step;
      if (Math.abs(q - Math.round(q)) > 1e-9) return fail('multipleOf', path, `${value} is not a multiple of ${step}`);
    }
  }

  if (typeof value === 'string') {
    const length = [...value].length;
    if (s.minLength !== undefined && length < (s.minLength as number)) return fail('minLength', path, `the string has ${length} characters, fewer than minLength ${String(s.minLength)}`);
    if (s.maxLength !== undefined && length > (s.maxLength as number)) return fail('maxLength', path, `the string has ${length} characters, more than maxLength ${String(s.maxLength)}`);
    if (s.pattern !== undefined && !new RegExp(s.pattern as string, 'u').test(value)) return fail('pattern', path, `${JSON.stringify(value)} does not match the pattern ${JSON.stringify(s.pattern)}`);
    if (s.format !== undefined && !FORMAT_TESTS[s.format as string]?.test(value)) return fail('format', path, `${JSON.stringify(value)} is not a valid ${String(s.format)}`);
  }

  if (Array.isArray(value)) {
    if (s.minItems !== undefined && value.length < (s.minItems as number)) return fail('minItems', path, `the array has ${value.length} items, fewer than minItems ${String(s.minItems)}`);
    if (s.maxItems !== undefined && value.length > (s.maxItems as number)) return fail('maxItems', path, `the array has ${value.length} items, more than maxItems ${String(s.maxItems)}`);
    if (s.uniqueItems === true) {
      for (let i = 1; i < value.length; i++) {
        if (value.slice(0, i).some((v) => same(v, value[i]))) return fail('uniqueItems', pointer(path, i), 'duplicates an earlier item (uniqueItems)');
      }
    }
    const prefix = (s.prefixItems as CheckSchema[] | undefined) ?? [];
    for (let i = 0; i < value.length; i++) {
      const itemSchema = i < prefix.length ? prefix[i] : (s.items as CheckSchema | false | undefined);
      if (itemSchema === false) return fail('items', pointer(path, i), 'no item is allowed beyond prefixItems');
      if (itemSchema === undefined) continue;
      const v = validateJson(value[i], itemSchema, pointer(path, i));
      if (v) return v;
    }
  }

  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const obj = value as Record<string, unknown>;
    const keys = Object.keys(obj);
    for (const name of (s.required as string[] | undefined) ?? []) {
      if (!(name in obj)) return fail('required', pointer(path, name), `the required property "${name}" is missing`);
    }
    if (s.minProperties !== undefined && keys.length < (s.minProperties as number)) return fail('minProperties', path, `the object has ${keys.length} properties, fewer than minProperties ${String(s.minProperties)}`);
    if (s.maxProperties !== undefined && keys.length > (s.maxProperties as number)) return fail('maxProperties', path, `the object has ${keys.length} properties, more than maxProperties ${String(s.maxProperties)}`);
    const props = (s.properties as Record<string, CheckSchema> | undefined) ?? {};
    for (const key of keys) {
      const propSchema = props[key];
      if (propSchema) {
        const v = validateJson(obj[key], propSchema, pointer(path, key));
        if (v) return v;
        continue;
      }
      const extra = s.additionalProperties as CheckSchema | boolean | undefined;
      if (extra === false) return fail('additionalProperties', pointer(path, key), `the property "${key}" is not allowed (additionalProperties is false)`);
      if (typeof extra === 'object') {
        const v = validateJson(obj[key], extra, pointer(path, key));
        if (v) return v;
      }
    }
  }
  return null;
}
