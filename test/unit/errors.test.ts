/** The error body every adapter carries, read back by hand (errors.ts loads without zod). */
import { describe, expect, it } from 'vitest';
import { AimaError, parseErrorBody, toAimaError } from '../../src/shared/errors.js';

describe('error bodies', () => {
  it('reads a body with or without a fix, dropping extra fields', () => {
    expect(parseErrorBody({ code: 'not-found', message: 'No model "x".', fix: 'See `aima model list`.', stack: 's' })).toEqual({ code: 'not-found', message: 'No model "x".', fix: 'See `aima model list`.' });
    expect(parseErrorBody({ code: 'internal', message: 'boom' })).toEqual({ code: 'internal', message: 'boom' });
  });

  it('refuses anything else', () => {
    for (const bad of [null, undefined, 'oops', 3, {}, { code: 'teapot', message: 'm' }, { code: 'internal' }, { code: 'internal', message: 1 }, { code: 'internal', message: 'm', fix: 2 }]) {
      expect(parseErrorBody(bad)).toBeNull();
    }
  });

  it('turns thrown values into AimaErrors: bodies keep their code, the rest becomes internal', () => {
    const e = toAimaError({ code: 'conflict', message: 'busy', fix: 'wait' });
    expect(e).toBeInstanceOf(AimaError);
    expect(e.toBody()).toEqual({ code: 'conflict', message: 'busy', fix: 'wait' });
    expect(toAimaError(Object.assign(new Error('disk'), { code: 'ENOSPC' })).toBody()).toEqual({ code: 'internal', message: 'disk' });
    expect(toAimaError('plain').toBody()).toEqual({ code: 'internal', message: 'plain' });
  });
});
