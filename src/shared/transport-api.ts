/** Adapts a generic transport to the CoreApi object shape, so callers never care which side they are on. */
import { calls, type ApiTransport, type CallName, type CoreApi } from './contract/index.js';

export function transportToApi(transport: ApiTransport): CoreApi {
  const api = {} as Record<CallName, (p: unknown) => Promise<unknown>>;
  for (const name of Object.keys(calls) as CallName[]) {
    api[name] = (params) => transport.invoke(name, params as never);
  }
  return api as unknown as CoreApi;
}
