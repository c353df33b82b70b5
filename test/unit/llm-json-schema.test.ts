/**
 * The LLM worker's JSON Schema handling as tables: what the normalizer hands node-llama-cpp's
 * grammar and the validator, what it refuses (naming the keyword and where), and what the output
 * validator reports (keyword and JSON pointer) for values that break a schema.
 */
import { zodResponseFormat } from 'openai/helpers/zod';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { SchemaError, normalizeSchema } from '../../src/workers/llm/json-schema/normalize.js';
import { validateJson } from '../../src/workers/llm/json-schema/validate.js';

describe('normalizeSchema: grammar schema for node-llama-cpp', () => {
  const cases: [string, unknown, unknown][] = [
    ['drops annotations', { $schema: 'x', title: 't', examples: [1], default: 2, $comment: 'c', type: 'boolean' }, { type: 'boolean' }],
    ['keeps descriptions (they document function parameters to the model)', { type: 'object', properties: { a: { type: 'boolean', description: 'is it' } } }, { type: 'object', properties: { a: { type: 'boolean', description: 'is it' } }, additionalProperties: false }],
    ['an enum keeps only its values', { type: 'string', enum: ['a', 'b'] }, { enum: ['a', 'b'] }],
    ['a const', { type: 'string', const: 'x' }, { const: 'x' }],
    ['anyOf becomes oneOf', { anyOf: [{ type: 'string' }, { type: 'null' }] }, { oneOf: [{ type: 'string' }, { type: 'null' }] }],
    ['a one-branch anyOf is that branch', { anyOf: [{ type: 'integer' }] }, { type: 'integer' }],
    ['a type array with object splits into oneOf', { type: ['object', 'null'], properties: { a: { type: 'boolean' } } }, { oneOf: [{ type: 'object', properties: { a: { type: 'boolean' } }, additionalProperties: false }, { type: 'null' }] }],
    ['an object without properties is open', { type: 'object' }, { type: 'object', properties: {}, additionalProperties: true }],
    ['an object with properties writes just those', { type: 'object', properties: { a: { type: 'number' } } }, { type: 'object', properties: { a: { type: 'number' } }, additionalProperties: false }],
    ['properties without type imply an object', { properties: { a: { const: 1 } } }, { type: 'object', properties: { a: { const: 1 } }, additionalProperties: false }],
    ['string lengths reach the grammar', { type: 'string', minLength: 1, maxLength: 3, pattern: '^a' }, { type: 'string', minLength: 1, maxLength: 3 }],
    ['a date format reaches the grammar', { type: 'string', format: 'date' }, { type: 'string', format: 'date' }],
    ['an email format is a string (checked afterwards)', { type: 'string', format: 'email' }, { type: 'string' }],
    ['lengths and counts above the grammar bound are left to the check', { type: 'array', items: { type: 'string', maxLength: 100000 }, minItems: 1, maxItems: 5000 }, { type: 'array', items: { type: 'string' }, minItems: 1 }],
    ['array bounds and items', { type: 'array', items: { type: 'boolean' }, minItems: 1, maxItems: 2 }, { type: 'array', items: { type: 'boolean' }, minItems: 1, maxItems: 2 }],
    ['draft-07 tuple items become prefixItems', { type: 'array', items: [{ type: 'string' }, { type: 'integer' }] }, { type: 'array', prefixItems: [{ type: 'string' }, { type: 'integer' }] }],
    ['numeric bounds do not reach the grammar', { type: 'integer', minimum: 1, maximum: 5, multipleOf: 2 }, { type: 'integer' }],
    ['$defs refs are inlined', { type: 'object', properties: { c: { $ref: '#/$defs/C' } }, $defs: { C: { enum: ['r', 'g'] } } }, { type: 'object', properties: { c: { enum: ['r', 'g'] } }, additionalProperties: false }],
    ['definitions refs are inlined', { properties: { c: { $ref: '#/definitions/C' } }, definitions: { C: { type: 'null' } } }, { type: 'object', properties: { c: { type: 'null' } }, additionalProperties: false }],
    ['a ref to a sibling property (zod reuse)', { type: 'object', properties: { a: { type: 'boolean' }, b: { $ref: '#/properties/a' } } }, { type: 'object', properties: { a: { type: 'boolean' }, b: { type: 'boolean' } }, additionalProperties: false }],
    ['an empty schema is any JSON', {}, { oneOf: [{ type: ['string', 'number', 'boolean', 'null'] }, { type: 'object', additionalProperties: true }, { type: 'array' }] }],
  ];
  it.each(cases)('%s', (_name, schema, grammar) => {
    expect(normalizeSchema(schema).grammar).toEqual(grammar);
  });

  it('keeps every constraint in the check schema, refs resolved, annotations dropped', () => {
    const { check } = normalizeSchema({ $schema: 'x', type: 'object', properties: { n: { $ref: '#/$defs/N', title: 'd' } }, required: ['n'], $defs: { N: { type: 'integer', minimum: 3 } } });
    expect(check).toEqual({ type: 'object', properties: { n: { type: 'integer', minimum: 3 } }, required: ['n'] });
  });

  it("accepts what the OpenAI SDK's zodResponseFormat emits", () => {
    const format = zodResponseFormat(z.object({ mood: z.enum(['happy', 'sad']), n: z.number().int(), note: z.string().nullable() }), 'answer');
    const { grammar, check } = normalizeSchema(format.json_schema.schema);
    expect(grammar).toEqual({
      type: 'object',
      properties: { mood: { enum: ['happy', 'sad'] }, n: { type: 'integer' }, note: { oneOf: [{ type: 'string' }, { type: 'null' }] } },
      additionalProperties: false,
    });
    expect(validateJson({ mood: 'sad', n: 12345678901, note: null }, check)).toBeNull();
  });
});

describe('normalizeSchema: refusals name the keyword and where', () => {
  const cases: [string, unknown, string, string][] = [
    ['an unknown keyword', { type: 'object', properties: { a: { type: 'string', not: { const: 'x' } } } }, 'not', '/properties/a'],
    ['allOf', { allOf: [{ type: 'string' }] }, 'allOf', '/'],
    ['patternProperties', { type: 'object', patternProperties: {} }, 'patternProperties', '/'],
    ['a recursive ref', { $defs: { T: { type: 'object', properties: { next: { $ref: '#/$defs/T' } } } }, $ref: '#/$defs/T' }, '$ref', '/properties/next'],
    ['a missing definition', { properties: { a: { $ref: '#/$defs/Nope' } } }, '$ref', '/properties/a'],
    ['a remote ref', { $ref: 'https://example.com/s.json' }, '$ref', '/'],
    ['an unsupported format', { type: 'string', format: 'hostname' }, 'format', '/'],
    ['an unknown type', { type: 'float' }, 'type', '/'],
    ['an enum of objects', { enum: [{ a: 1 }] }, 'enum', '/'],
    ['a bad pattern', { type: 'string', pattern: '(' }, 'pattern', '/'],
    ['the false schema', { properties: { a: false } }, 'false', '/properties/a'],
  ];
  it.each(cases)('%s', (_name, schema, keyword, path) => {
    let error: unknown;
    try {
      normalizeSchema(schema);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(SchemaError);
    expect(error).toMatchObject({ keyword, path });
    expect((error as Error).message).toContain(keyword === 'false' ? 'false' : keyword);
  });
});

describe('validateJson: the first violation with its keyword and JSON pointer', () => {
  const MAX = Number.MAX_SAFE_INTEGER;
  const cases: [string, unknown, unknown, string | null, string?][] = [
    ['a valid object', { type: 'object', properties: { a: { type: 'integer' } }, required: ['a'] }, { a: 1 }, null],
    ['a wrong type', { type: 'integer' }, 1.5, 'type', ''],
    ['integer accepts 2.0-like numbers', { type: 'integer' }, 2, null],
    ['number accepts integers', { type: 'number' }, 3, null],
    ['a missing required property', { type: 'object', properties: { a: {} }, required: ['a'] }, {}, 'required', '/a'],
    ['an extra property', { type: 'object', properties: {}, additionalProperties: false }, { x: 1 }, 'additionalProperties', '/x'],
    ['an enum miss', { enum: ['a', 'b'] }, 'c', 'enum', ''],
    ['a const miss', { const: 1 }, 2, 'const', ''],
    ['minimum', { type: 'number', minimum: 3 }, 2, 'minimum', ''],
    ['maximum, nested', { type: 'object', properties: { p: { type: 'array', items: { maximum: 3 } } } }, { p: [1, 4] }, 'maximum', '/p/1'],
    ['exclusiveMinimum', { exclusiveMinimum: 0 }, 0, 'exclusiveMinimum', ''],
    ['exclusiveMaximum', { exclusiveMaximum: 1 }, 1, 'exclusiveMaximum', ''],
    ['zod integer bounds are no-ops', { type: 'integer', minimum: -MAX, maximum: MAX }, 1e20, null],
    ['multipleOf', { multipleOf: 0.5 }, 0.75, 'multipleOf', ''],
    ['multipleOf with a float step', { multipleOf: 0.1 }, 0.3, null],
    ['pattern', { type: 'string', pattern: '^[0-9]+$' }, 'abc', 'pattern', ''],
    ['minLength counts characters', { minLength: 2 }, '😀', 'minLength', ''],
    ['maxLength', { maxLength: 2 }, 'abc', 'maxLength', ''],
    ['format date-time', { format: 'date-time' }, '2026-12-03 19:00', 'format', ''],
    ['format date ok', { format: 'date' }, '2026-12-03', null],
    ['format email', { format: 'email' }, 'nobody', 'format', ''],
    ['format uuid ok', { format: 'uuid' }, '123e4567-e89b-12d3-a456-426614174000', null],
    ['minItems', { minItems: 2 }, [1], 'minItems', ''],
    ['maxItems', { maxItems: 1 }, [1, 2], 'maxItems', ''],
    ['uniqueItems', { uniqueItems: true }, [{ a: 1 }, { a: 1 }], 'uniqueItems', '/1'],
    ['prefixItems', { prefixItems: [{ type: 'string' }] }, [1], 'type', '/0'],
    ['anyOf none', { anyOf: [{ type: 'string' }, { type: 'null' }] }, 1, 'anyOf', ''],
    ['anyOf one', { anyOf: [{ type: 'string' }, { type: 'null' }] }, null, null],
    ['oneOf two matches', { oneOf: [{ type: 'number' }, { type: 'integer' }] }, 1, 'oneOf', ''],
    ['minProperties', { minProperties: 1 }, {}, 'minProperties', ''],
    ['additionalProperties schema', { additionalProperties: { type: 'boolean' } }, { a: 'x' }, 'type', '/a'],
    ['pointer escaping', { properties: { 'a/b': { type: 'null' } } }, { 'a/b': 1 }, 'type', '/a~1b'],
  ];
  it.each(cases)('%s', (_name, schema, value, keyword, path) => {
    const violation = validateJson(value, schema as Record<string, unknown>);
    if (keyword === null) expect(violation).toBeNull();
    else {
      expect(violation).toMatchObject({ keyword, path });
      expect(violation!.message.startsWith(`${path || '/'}:`)).toBe(true);
    }
  });
});
