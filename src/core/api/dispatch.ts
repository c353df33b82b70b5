/**
 * The one place where a call coming from outside (IPC, HTTP) is checked against the contract:
 * params are parsed before the core sees them and results are parsed before they leave, so both
 * adapters validate both ways with the same code.
 */
import { calls, isCallName, type CoreApi } from '../../shared/contract/index.js';
import { AimaError } from '../../shared/errors.js';
import type { z } from 'zod';
import type { UncontractedCalls } from '../feature.js';

function describeIssues(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join('.') || '(params)'}: ${i.message}`).join('; ');
}

/**
 * Validates `rawParams`, runs the call, validates the result. Throws AimaError on bad input.
 * `uncontracted`: calls of test features (see TestFeature in ../feature.ts), each with its own
 * schemas; a contract name always goes to the contract, so production calls stay validated by it.
 */
export async function dispatchCall(api: CoreApi, name: string, rawParams: unknown, uncontracted?: UncontractedCalls): Promise<unknown> {
  const extra = isCallName(name) ? undefined : uncontracted?.get(name);
  if (!isCallName(name) && !extra) {
    throw new AimaError('not-found', `Unknown API call "${name}".`, 'Update the client, or check the call name against the API contract.');
  }
  const spec = extra ?? calls[name as keyof typeof calls];
  const params = spec.params.safeParse(rawParams ?? {});
  if (!params.success) {
    throw new AimaError('bad-request', `Invalid parameters for ${name}: ${describeIssues(params.error)}.`, 'Fix the parameters and try again.');
  }
  const handler = extra?.handler ?? (api[name as keyof CoreApi] as (p: unknown) => Promise<unknown>);
  const result = await handler(params.data);
  const checked = spec.result.safeParse(result);
  if (!checked.success) {
    // A core bug, not the caller's: say so rather than sending something the client cannot trust.
    throw new AimaError('internal', `The core returned an invalid result for ${name}: ${describeIssues(checked.error)}.`, 'Please report this bug.');
  }
  return checked.data;
}
