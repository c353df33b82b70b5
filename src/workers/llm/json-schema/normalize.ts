/**
 * JSON Schema (as OpenAI clients send it in `response_format` and `tools[].function.parameters`)
 * -> two schemas:
 * - `check`: the schema with every `$ref` resolved inline and annotations other than `description` dropped; the output
 *   validator (validate.ts) checks the generated JSON against it after generation;
 * - `grammar`: the subset node-llama-cpp's GbnfJsonSchema understands, from which the sampling
 *   grammar is built. node-llama-cpp silently ignores what it does not know (an unknown keyword, an
 *   `anyOf`, a `$ref` into `definitions`), so nothing reaches it unmapped.
 *
 * A keyword that is neither mapped into the grammar nor checked afterwards is refused with a
 * {@link SchemaError} naming it and where it is, never ignored.
 */
import type { GbnfJsonSchema } from 'node-llama-cpp';

/** A schema node after normalization: plain JSON Schema, refs resolved, only supported keywords (and `description`). */
export type CheckSchema = { [keyword: string]: unknown };

/** A schema the worker cannot honour: names the keyword and the JSON pointer of the node. */
export class SchemaError extends Error {
  constructor(
    readonly keyword: string,
    readonly path: string,
    message: string,
  ) {
    super(message);
  }
}

/** Keywords that only describe: dropped (the grammar and the validator do not need them). */
const ANNOTATIONS = new Set(['$schema', '$id', '$comment', 'title', 'description', 'examples', 'default', 'deprecated', 'readOnly', 'writeOnly', '$defs', 'definitions']);

/** Keywords the grammar enforces (structure). */
const STRUCTURE = ['type', 'enum', 'const', 'properties', 'required', 'additionalProperties', 'items', 'prefixItems', 'anyOf', 'oneOf'] as const;

/** Keywords the grammar cannot enforce (or only partly): checked on the output after generation. */
export const POST_CHECKED = [
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'multipleOf',
  'pattern',
  'minLength',
  'maxLength',
  'format',
  'minItems',
  'maxItems',
  'uniqueItems',
  'minProperties',
  'maxProperties',
] as const;

const KNOWN = new Set<string>([...STRUCTURE, ...POST_CHECKED]);

const TYPES = new Set(['string', 'number', 'integer', 'boolean', 'null', 'object', 'array']);

/** `format` values: the first three are enforced by the grammar, all are checked afterwards. */
export const FORMATS = ['date-time', 'date', 'time', 'email', 'uuid', 'ipv4'] as const;
const GRAMMAR_FORMATS = new Set(['date-time', 'date', 'time']);

/**
 * Length and count bounds above this stay out of the grammar (they are still checked afterwards):
 * llama.cpp expands a bounded repetition into that many rules, and sampling under a bound of a few
 * thousand slows generation several times over (a client could stall a slot with one schema).
 */
export const GRAMMAR_MAX_REPEAT = 256;
const bound = (key: string, value: unknown): Record<string, number> => (typeof value === 'number' && value <= GRAMMAR_MAX_REPEAT ? { [key]: value } : {});

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isPrimitive = (v: unknown) => v === null || ['string', 'number', 'boolean'].includes(typeof v);
const pointer = (path: string, key: string | number) => `${path}/${String(key).replaceAll('~', '~0').replaceAll('/', '~1')}`;

/** Follows a local JSON pointer (`#/$defs/x`, `#/definitions/x`, `#/properties/a`) in `root`. */
function follow(root: unknown, ref: string, at: string): unknown {
  if (!ref.startsWith('#')) throw new SchemaError('$ref', at, `${at || '/'}: $ref "${ref}" points outside the schema; only local references ("#/$defs/Name") are supported. Fix: inline the referenced schema.`);
  let node = root;
  for (const raw of ref.slice(1).split('/').slice(1)) {
    const key = decodeURIComponent(raw).replaceAll('~1', '/').replaceAll('~0', '~');
    node = isObject(node) || Array.isArray(node) ? (node as Record<string, unknown>)[key] : undefined;
    if (node === undefined) throw new SchemaError('$ref', at, `${at || '/'}: $ref "${ref}" does not point to a definition in the schema. Fix: add it under $defs.`);
  }
  return node;
}

/** Resolves refs, drops annotations and refuses unknown keywords; returns the `check` schema. */
function resolve(node: unknown, path: string, root: unknown, refs: readonly string[]): CheckSchema {
  const at = path || '/';
  if (node === true) return {};
  if (node === false) throw new SchemaError('false', at, `${at}: the schema "false" accepts no value, so no output can satisfy it.`);
  if (!isObject(node)) throw new SchemaError('type', at, `${at}: a schema must be a JSON object.`);

  if ('$ref' in node) {
    const ref = node.$ref;
    if (typeof ref !== 'string') throw new SchemaError('$ref', at, `${at}: $ref must be a string.`);
    const siblings = Object.keys(node).filter((k) => k !== '$ref' && !ANNOTATIONS.has(k));
    if (siblings.length) throw new SchemaError(siblings[0], at, `${at}: "${siblings[0]}" beside $ref is not supported. Fix: move it into the referenced definition.`);
    if (refs.includes(ref)) {
      throw new SchemaError('$ref', at, `${at}: $ref "${ref}" is recursive; recursive schemas are not supported (a grammar for them is unbounded). Fix: limit the nesting to a fixed depth.`);
    }
    return resolve(follow(root, ref, at), path, root, [...refs, ref]);
  }

  const out: CheckSchema = {};
  for (const [key, value] of Object.entries(node)) {
    // Descriptions document the function's parameters to the model (node-llama-cpp writes them into its function documentation).
    if (key === 'description' && typeof value === 'string') {
      out.description = value;
      continue;
    }
    if (ANNOTATIONS.has(key)) continue;
    if (!KNOWN.has(key)) {
      throw new SchemaError(
        key,
        at,
        `${at}: the JSON Schema keyword "${key}" is not supported (the grammar cannot enforce it and the output is not checked against it). Supported: ${[...STRUCTURE, ...POST_CHECKED].join(', ')}.`,
      );
    }
    const sub = pointer(path, key);
    switch (key) {
      case 'type': {
        const types = Array.isArray(value) ? value : [value];
        const bad = types.find((t) => typeof t !== 'string' || !TYPES.has(t));
        if (bad !== undefined || types.length === 0) throw new SchemaError('type', at, `${at}: type ${JSON.stringify(bad ?? value)} is not one of ${[...TYPES].join(', ')}.`);
        out.type = value;
        break;
      }
      case 'enum':
        if (!Array.isArray(value) || value.length === 0) throw new SchemaError('enum', at, `${at}: enum must be a non-empty array.`);
        if (!value.every(isPrimitive)) throw new SchemaError('enum', at, `${at}: enum values must be strings, numbers, booleans or null (objects and arrays are not supported).`);
        out.enum = value;
        break;
      case 'const':
        if (!isPrimitive(value)) throw new SchemaError('const', at, `${at}: const must be a string, number, boolean or null (objects and arrays are not supported).`);
        out.const = value;
        break;
      case 'properties':
        if (!isObject(value)) throw new SchemaError('properties', at, `${at}: properties must be an object of schemas.`);
        out.properties = Object.fromEntries(Object.entries(value).map(([name, s]) => [name, resolve(s, pointer(sub, name), root, refs)]));
        break;
      case 'required':
        if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) throw new SchemaError('required', at, `${at}: required must be an array of property names.`);
        out.required = value;
        break;
      case 'additionalProperties':
        out.additionalProperties = typeof value === 'boolean' ? value : resolve(value, sub, root, refs);
        break;
      case 'items':
        // Draft-07 tuples (`items: [...]`) are 2020-12's prefixItems.
        if (Array.isArray(value)) out.prefixItems = value.map((s, i) => resolve(s, pointer(sub, i), root, refs));
        else out.items = typeof value === 'boolean' ? (value ? {} : value) : resolve(value, sub, root, refs);
        break;
      case 'prefixItems':
      case 'anyOf':
      case 'oneOf':
        if (!Array.isArray(value) || value.length === 0) throw new SchemaError(key, at, `${at}: ${key} must be a non-empty array of schemas.`);
        out[key] = value.map((s, i) => resolve(s, pointer(sub, i), root, refs));
        break;
      case 'format':
        if (typeof value !== 'string' || !(FORMATS as readonly string[]).includes(value)) {
          throw new SchemaError('format', at, `${at}: format ${JSON.stringify(value)} is not supported. Supported formats: ${FORMATS.join(', ')}.`);
        }
        out.format = value;
        break;
      case 'pattern':
        try {
          new RegExp(String(value), 'u');
        } catch (err) {
          throw new SchemaError('pattern', at, `${at}: pattern is not a valid regular expression (${(err as Error).message}).`);
        }
        out.pattern = String(value);
        break;
      case 'uniqueItems':
        if (typeof value !== 'boolean') throw new SchemaError(key, at, `${at}: uniqueItems must be a boolean.`);
        out.uniqueItems = value;
        break;
      default:
        if (typeof value !== 'number' || !Number.isFinite(value)) throw new SchemaError(key, at, `${at}: ${key} must be a number.`);
        if (key === 'multipleOf' && value <= 0) throw new SchemaError(key, at, `${at}: multipleOf must be greater than 0.`);
        out[key] = value;
    }
  }
  return out;
}

/** A schema accepting any JSON value, in GbnfJsonSchema terms. */
const ANY_JSON: GbnfJsonSchema = { oneOf: [{ type: ['string', 'number', 'boolean', 'null'] }, { type: 'object', additionalProperties: true }, { type: 'array' }] };

/** What type a node without `type` describes, judged from its keywords. */
function impliedType(s: CheckSchema): string | undefined {
  if (s.properties !== undefined || s.additionalProperties !== undefined || s.required !== undefined) return 'object';
  if (s.items !== undefined || s.prefixItems !== undefined) return 'array';
  return undefined;
}

/** The grammar schema of one `check` node for one JSON type. */
function grammarForType(s: CheckSchema, type: string): GbnfJsonSchema {
  switch (type) {
    case 'object': {
      const properties = Object.fromEntries(Object.entries((s.properties as Record<string, CheckSchema> | undefined) ?? {}).map(([k, v]) => [k, toGrammar(v)]));
      const extra = s.additionalProperties;
      // JSON Schema allows extra keys unless told otherwise; node-llama-cpp forbids them by default.
      // Without listed properties an object is open; with them the grammar writes just those.
      const additionalProperties = extra === undefined ? Object.keys(properties).length === 0 : typeof extra === 'boolean' ? extra : toGrammar(extra as CheckSchema);
      return {
        type: 'object',
        properties,
        additionalProperties,
        ...bound('minProperties', s.minProperties),
        ...bound('maxProperties', s.maxProperties),
      };
    }
    case 'array':
      return {
        type: 'array',
        ...(s.items !== undefined && s.items !== false ? { items: toGrammar(s.items as CheckSchema) } : {}),
        ...(s.prefixItems ? { prefixItems: (s.prefixItems as CheckSchema[]).map(toGrammar) } : {}),
        ...bound('minItems', s.minItems),
        ...(s.items === false && s.prefixItems ? { maxItems: (s.prefixItems as unknown[]).length } : bound('maxItems', s.maxItems)),
      };
    case 'string':
      if (typeof s.format === 'string' && GRAMMAR_FORMATS.has(s.format)) return { type: 'string', format: s.format as 'date-time' | 'date' | 'time' };
      return {
        type: 'string',
        ...bound('minLength', s.minLength),
        ...bound('maxLength', s.maxLength),
      };
    default:
      return { type: type as 'number' | 'integer' | 'boolean' | 'null' };
  }
}

/** The GbnfJsonSchema node-llama-cpp builds the sampling grammar from, with the node's description. */
function toGrammar(s: CheckSchema): GbnfJsonSchema {
  const grammar = toGrammarNode(s);
  return typeof s.description === 'string' ? ({ ...grammar, description: s.description } as GbnfJsonSchema) : grammar;
}

function toGrammarNode(s: CheckSchema): GbnfJsonSchema {
  if (s.const !== undefined) return { const: s.const as string | number | boolean | null };
  if (s.enum !== undefined) return { enum: s.enum as (string | number | boolean | null)[] };
  const alternatives = (s.anyOf ?? s.oneOf) as CheckSchema[] | undefined;
  if (alternatives) return alternatives.length === 1 ? toGrammar(alternatives[0]) : { oneOf: alternatives.map(toGrammar) };
  const type = s.type ?? impliedType(s);
  if (type === undefined) return ANY_JSON;
  const types = Array.isArray(type) ? (type as string[]) : [type as string];
  if (types.length === 1) return grammarForType(s, types[0]);
  return { oneOf: types.map((t) => grammarForType(s, t)) };
}

export interface NormalizedSchema {
  /** For the output validator. */
  check: CheckSchema;
  /** For node-llama-cpp's grammar. */
  grammar: GbnfJsonSchema;
}

/** Normalizes a client's schema; throws {@link SchemaError} naming what cannot be honoured. */
export function normalizeSchema(schema: unknown): NormalizedSchema {
  const check = resolve(schema, '', schema, []);
  return { check, grammar: toGrammar(check) };
}
