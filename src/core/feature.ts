/**
 * The one face every feature of the core shows (services, gateway, downloads, hardware, voice,
 * models, settings, ...): `create(deps)` returns a {@link Feature}. core.ts is the list of features
 * in dependency order; it merges their calls into the core's API, hands their routes and upgrades
 * to the HTTP host (which mounts them without knowing whose they are), runs their `startup` as the
 * core's slow second step and closes them in reverse order.
 */
import type { z } from 'zod';
import { calls as contractCalls, isCallName, type CoreApi, type EventName } from '../shared/contract/index.js';
import type { Route, UpgradeRoute } from './server/http-server.js';

/** How the core closes. stopServices: stop the engines (else the onQuit setting decides). */
export interface CloseOptions {
  stopServices?: boolean;
}

/** The schemas of one call: what the contract holds for each of its calls. */
export interface CallSpec {
  params: z.ZodType;
  result: z.ZodType;
}

export interface Feature {
  /** This feature's part of the contract's CoreApi. */
  readonly calls: Partial<CoreApi>;
  /** The contract events this feature emits (documentation, and a check that each has an owner). */
  readonly events?: readonly EventName[];
  /** HTTP routes, tried in feature order before the core's own /api, login and UI. */
  readonly routes?: readonly Route[];
  /** WebSocket endpoints under /api/ (after the host's Host, Origin and token checks). */
  readonly upgrades?: readonly UpgradeRoute[];
  /**
   * HTTP routes under /api/ other than /api/call (e.g. files a page links to: voice recordings),
   * tried after the host's Host, Origin and token checks, as upgrades are.
   */
  readonly apiRoutes?: readonly Route[];
  /**
   * The slow part of the start (Docker, adoption of running engines): run once by the core's
   * `startup`, after the server listens. The feature's own calls that need it wait for it.
   */
  startup?(): Promise<void>;
  close(opts: CloseOptions): void | Promise<void>;
}

/**
 * Test seam: a feature whose calls are not in the contract carries their schemas here, so the
 * dispatcher still validates both ways. Production features have none: every production call is
 * in the contract, and a spec may not name a contract call (it cannot replace the contract's).
 */
export interface TestFeature extends Feature {
  readonly uncontractedCalls?: Readonly<Record<string, CallSpec & { handler: (params: never) => Promise<unknown> }>>;
}

/** Calls outside the contract (test features only), by name. */
export type UncontractedCalls = ReadonlyMap<string, CallSpec & { handler: (params: unknown) => Promise<unknown> }>;

export interface ComposedFeatures {
  api: CoreApi;
  uncontracted: UncontractedCalls;
  routes: Route[];
  upgrades: UpgradeRoute[];
  apiRoutes: Route[];
}

/**
 * Merges the features' faces. Throws on a call served twice, a contract call no feature serves
 * (a production bug: found at start, not at the first request) and an uncontracted call that
 * names a contract call.
 */
export function composeFeatures(features: readonly TestFeature[]): ComposedFeatures {
  const api: Record<string, unknown> = {};
  const uncontracted = new Map<string, CallSpec & { handler: (params: unknown) => Promise<unknown> }>();
  for (const f of features) {
    for (const [name, handler] of Object.entries(f.calls)) {
      if (!isCallName(name)) throw new Error(`The call ${name} is not in the contract (a test feature gives its schemas in uncontractedCalls).`);
      if (Object.hasOwn(api, name)) throw new Error(`The call ${name} is served by two features.`);
      api[name] = handler;
    }
    for (const [name, spec] of Object.entries(f.uncontractedCalls ?? {})) {
      if (isCallName(name) || uncontracted.has(name)) throw new Error(`The uncontracted call ${name} names a contract call or another feature's call.`);
      uncontracted.set(name, spec as CallSpec & { handler: (params: unknown) => Promise<unknown> });
    }
  }
  const missing = Object.keys(contractCalls).filter((name) => !Object.hasOwn(api, name));
  if (missing.length > 0) throw new Error(`No feature serves the contract calls ${missing.join(', ')}.`);
  return {
    api: api as CoreApi,
    uncontracted,
    routes: features.flatMap((f) => f.routes ?? []),
    upgrades: features.flatMap((f) => f.upgrades ?? []),
    apiRoutes: features.flatMap((f) => f.apiRoutes ?? []),
  };
}
