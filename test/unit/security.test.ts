import { describe, expect, it } from 'vitest';
import type { IncomingMessage } from 'node:http';
import { authorizeApi, authorizeGateway, hasValidApiKey, isAllowedHost, isAllowedOrigin, isLoopbackHost, setServerNames, tokenFromRequest } from '../../src/core/server/security.js';
import { tokenMatches } from '../../src/core/server/token.js';

describe('local API protection', () => {
  it('accepts only loopback names with our port in Host (DNS rebinding)', () => {
    expect(isAllowedHost('127.0.0.1:9090', 9090)).toBe(true);
    expect(isAllowedHost('localhost:9090', 9090)).toBe(true);
    expect(isAllowedHost('[::1]:9090', 9090)).toBe(true);
    expect(isAllowedHost('evil.example:9090', 9090)).toBe(false);
    expect(isAllowedHost('127.0.0.1:9091', 9090)).toBe(false);
    expect(isAllowedHost('127.0.0.1.evil.example:9090', 9090)).toBe(false);
    expect(isAllowedHost(undefined, 9090)).toBe(false);
  });
  it('remembers an allowed Host only for its own port, and never a refused one', () => {
    expect(isAllowedHost('127.0.0.1:9090', 9090)).toBe(true);
    expect(isAllowedHost('127.0.0.1:9090', 9091)).toBe(false);
    expect(isAllowedHost('evil.example:9090', 9090)).toBe(false);
    expect(isAllowedHost('evil.example:9090', 9090)).toBe(false);
    expect(isAllowedHost('evil.example:9090', 9090, ['evil.example'])).toBe(true);
    // An extra host allowed once is not remembered for calls without it.
    expect(isAllowedHost('evil.example:9090', 9090)).toBe(false);
    expect(isAllowedHost('127.0.0.1:9090', 9090)).toBe(true);
  });
  it('accepts a missing Origin or our own, refuses other sites', () => {
    expect(isAllowedOrigin(undefined, 9090)).toBe(true);
    expect(isAllowedOrigin('http://127.0.0.1:9090', 9090)).toBe(true);
    expect(isAllowedOrigin('http://evil.example', 9090)).toBe(false);
    expect(isAllowedOrigin('http://127.0.0.1:3000', 9090)).toBe(false);
    expect(isAllowedOrigin('null', 9090)).toBe(false);
  });
  it("beyond loopback, accepts the machine's own names (http and https origins) on its port only, until they are forgotten", () => {
    setServerNames(4100, ['gpu-box.lan', '192.168.1.20', 'fd00::20']);
    expect(isAllowedHost('gpu-box.lan:4100', 4100)).toBe(true);
    expect(isAllowedHost('[fd00::20]:4100', 4100)).toBe(true);
    expect(isAllowedHost('gpu-box.lan:4101', 4101)).toBe(false);
    expect(isAllowedHost('evil.test:4100', 4100)).toBe(false);
    expect(isAllowedOrigin('https://gpu-box.lan:4100', 4100)).toBe(true);
    expect(isAllowedOrigin('http://192.168.1.20:4100', 4100)).toBe(true);
    expect(isAllowedOrigin('https://evil.test:4100', 4100)).toBe(false);
    expect(isAllowedOrigin('https://gpu-box.lan', 4100)).toBe(false);
    setServerNames(4100, null);
    expect(isAllowedHost('gpu-box.lan:4100', 4100)).toBe(false);
    expect(isAllowedOrigin('https://127.0.0.1:4100', 4100)).toBe(true);
  });

  it('takes an API key from the login cookie (a browser on another machine), not only the install token', () => {
    const policy = { token: 't'.repeat(64), keys: { active: () => 1, verify: (k: string) => k === 'aima-good' } };
    const req = (cookie: string) => ({ headers: { cookie }, url: '/api/call/core.info', socket: { remoteAddress: '192.168.1.9' } }) as unknown as IncomingMessage;
    expect(authorizeApi(req('aima_token=aima-good'), policy)).toBe(true);
    expect(authorizeApi(req('aima_token=aima-revoked'), policy)).toBe(false);
  });

  it('knows loopback bind addresses', () => {
    expect(['127.0.0.1', 'localhost', '::1', '127.0.0.2'].every(isLoopbackHost)).toBe(true);
    expect(['0.0.0.0', '::', '192.168.1.5'].some(isLoopbackHost)).toBe(false);
  });
  it('compares tokens exactly', () => {
    expect(tokenMatches('abc', 'abc')).toBe(true);
    expect(tokenMatches('abc', 'abd')).toBe(false);
    expect(tokenMatches('abc', 'ab')).toBe(false);
    expect(tokenMatches('abc', null)).toBe(false);
  });

  it('without API keys, /v1 is open only to loopback peers, whatever Host they send', () => {
    const noKeys = { token: 'a'.repeat(64), keys: { active: () => 0, verify: () => false } };
    // No traffic: a request as the server sees it, from the given peer address.
    const from = (remoteAddress: string) => ({ headers: { host: '127.0.0.1:9090' }, socket: { remoteAddress } }) as unknown as IncomingMessage;
    for (const peer of ['127.0.0.1', '127.3.4.5', '::1', '::ffff:127.0.0.1']) expect(authorizeGateway(from(peer), noKeys, 9090), peer).toBe(true);
    for (const peer of ['192.0.2.5', '::ffff:192.0.2.5', 'fd00::2', '']) expect(authorizeGateway(from(peer), noKeys, 9090), peer).toBe(false);
  });

  it('takes a key from x-api-key (Anthropic\'s clients) wherever it takes one from Authorization: Bearer', () => {
    const policy = { token: 't'.repeat(64), keys: { active: () => 1, verify: (k: string) => k === 'aima-good' } };
    const req = (headers: Record<string, string>) => ({ url: '/v1/messages', headers: { host: '127.0.0.1:9090', ...headers }, socket: { remoteAddress: '192.0.2.5' } }) as unknown as IncomingMessage;
    for (const headers of [{ authorization: 'Bearer aima-good' }, { 'x-api-key': 'aima-good' }] as Record<string, string>[]) {
      expect(hasValidApiKey(req(headers), policy), JSON.stringify(headers)).toBe(true);
      expect(authorizeApi(req(headers), policy)).toBe(true);
      expect(authorizeGateway(req(headers), policy, 9090)).toBe(true);
    }
    for (const headers of [{}, { 'x-api-key': 'aima-bad' }, { authorization: 'Basic aima-good' }] as Record<string, string>[]) {
      expect(hasValidApiKey(req(headers), policy), JSON.stringify(headers)).toBe(false);
      expect(authorizeGateway(req(headers), policy, 9090)).toBe(false);
    }
    // The install token too, as with a bearer.
    expect(tokenFromRequest(req({ 'x-api-key': policy.token }))).toBe(policy.token);
    expect(authorizeApi(req({ 'x-api-key': policy.token }), policy)).toBe(true);
  });

  it('takes a key from the openai-insecure-api-key.<key> WebSocket subprotocol (browsers opening /v1/realtime)', () => {
    const policy = { token: 't'.repeat(64), keys: { active: () => 1, verify: (k: string) => k === 'aima-good' } };
    const req = (protocols: string) => ({ url: '/v1/realtime?model=default', headers: { host: '127.0.0.1:9090', 'sec-websocket-protocol': protocols }, socket: { remoteAddress: '192.0.2.5' } }) as unknown as IncomingMessage;
    expect(authorizeGateway(req('realtime, openai-insecure-api-key.aima-good'), policy, 9090)).toBe(true);
    expect(authorizeGateway(req('realtime, openai-insecure-api-key.aima-bad'), policy, 9090)).toBe(false);
    expect(authorizeGateway(req('realtime'), policy, 9090)).toBe(false);
    expect(authorizeGateway(req('openai-insecure-api-key.'), policy, 9090)).toBe(false);
  });
});
