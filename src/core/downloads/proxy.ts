/**
 * Downloads and the Hub API go through the proxy the environment names, as curl would: the scheme's
 * variable (HTTPS_PROXY for https URLs, HTTP_PROXY for http ones, lower case first), then
 * ALL_PROXY, unless NO_PROXY lists the host. The decision is proxy-from-env's (curl's and wget's
 * rules); it reads process.env itself, so these variables are declared in config/env.ts for the
 * docs only. A variable set while AIMA runs is not seen by a transfer thread started before.
 *
 * Three clients carry a proxied request: node:http with https-proxy-agent (a CONNECT tunnel) or
 * http-proxy-agent (absolute-form requests) for resolving and range GETs (http-range.ts), and
 * undici's ProxyAgent for the Hub API's fetch. The transfer's own range reader does not: Node
 * ignores `onread` on a TLS socket laid over an existing one (the tunnel), so proxied URLs take
 * node:http, whose extra CPU does not matter at a proxy's speed.
 */
import type http from 'node:http';
import { createRequire } from 'node:module';
import { getProxyForUrl } from 'proxy-from-env';
import type * as Undici from 'undici';
import { TransferError } from './transfer-error.js';

export interface ProxyRoute {
  proxy: URL;
  /** The variable it came from (HTTPS_PROXY, https_proxy, ALL_PROXY…), for messages that name the fix. */
  variable: string;
}

/** A proxy variable that cannot be used: retrying cannot help, fixing the variable can. */
export class ProxyConfigError extends TransferError {
  constructor(
    message: string,
    readonly fix: string,
  ) {
    super(`${message} ${fix}`, false);
    this.name = 'ProxyConfigError';
  }
}

/** The proxy for `target`, or null for a direct connection. Throws ProxyConfigError for a variable that is not a proxy address. */
export function proxyFor(target: URL | string): ProxyRoute | null {
  if (!getProxyForUrl(target)) return null;
  const scheme = new URL(target).protocol.slice(0, -1);
  const variable = [`${scheme}_proxy`, `${scheme.toUpperCase()}_PROXY`, 'all_proxy', 'ALL_PROXY'].find((name) => process.env[name]);
  if (!variable) return null;
  const raw = process.env[variable]!;
  const fix = `Set ${variable}=http://HOST:PORT (an http:// or https:// proxy, with USER:PASSWORD@ before the host if it asks for a login), or unset it.`;
  let proxy: URL;
  try {
    // Without a scheme a proxy speaks plain HTTP, as curl assumes (proxy-from-env would copy the target's scheme).
    proxy = new URL(raw.includes('://') ? raw : `http://${raw}`);
  } catch {
    throw new ProxyConfigError(`${variable}="${redact(raw)}" is not a URL.`, fix);
  }
  if (proxy.protocol !== 'http:' && proxy.protocol !== 'https:') throw new ProxyConfigError(`${variable} names a ${proxy.protocol.slice(0, -1)} proxy (${proxy.host}); AIMA speaks to HTTP proxies only.`, fix);
  if (!proxy.hostname) throw new ProxyConfigError(`${variable}="${redact(raw)}" names no host.`, fix);
  return { proxy, variable };
}

/** "the proxy proxy.corp:3128 (HTTPS_PROXY)": where a request went, never with the proxy's password. */
export const describeProxy = (route: ProxyRoute): string => `the proxy ${route.proxy.host} (${route.variable})`;

const redact = (raw: string) => raw.replace(/\/\/[^/@]*@/, '//***@');

const agents = new Map<string, http.Agent>();

/**
 * A keep-alive node:http agent that reaches `target` through the route's proxy: a CONNECT tunnel
 * for https, absolute-form requests for http. The agent modules load with the first proxied
 * request, not with the core.
 */
export async function proxyAgent(route: ProxyRoute, target: URL): Promise<http.Agent> {
  const key = `${target.protocol} ${route.proxy.href}`;
  let agent = agents.get(key);
  if (!agent) {
    const opts = { keepAlive: true, maxSockets: 16 };
    agent =
      target.protocol === 'https:'
        ? new (await import('https-proxy-agent')).HttpsProxyAgent(route.proxy, opts)
        : new (await import('http-proxy-agent')).HttpProxyAgent(route.proxy, opts);
    // Two first requests may both have waited for the import: the first agent made is kept.
    agent = agents.get(key) ?? agent;
    agents.set(key, agent);
  }
  return agent;
}

const dispatchers = new Map<string, Undici.ProxyAgent>();

/** fetch through the route's proxy (Node 20's own fetch ignores the variables), or Node's fetch for a direct connection. */
export function fetchVia(route: ProxyRoute | null, url: string, init?: RequestInit): Promise<Response> {
  if (!route) return fetch(url, init);
  // undici is slow to load, and only a proxied Hub request needs it: loaded here, not with the core.
  const undici = createRequire(import.meta.url)('undici') as typeof Undici;
  let dispatcher = dispatchers.get(route.proxy.href);
  if (!dispatcher) {
    // proxyTunnel false: http URLs go as absolute-form requests, as http-proxy-agent sends them (a
    // proxy may allow CONNECT to port 443 only); https ones still go through a CONNECT tunnel.
    dispatcher = new undici.ProxyAgent({ uri: route.proxy.href, proxyTunnel: false });
    dispatchers.set(route.proxy.href, dispatcher);
  }
  // undici's fetch with undici's dispatcher: Node's bundled fetch may be another undici version.
  return undici.fetch(url, { ...(init as Parameters<typeof undici.fetch>[1]), dispatcher }) as unknown as Promise<Response>;
}
