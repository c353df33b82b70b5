import { describe, expect, it } from 'vitest';
import { upstreamBase } from '../../src/core/gateway/proxy.js';

describe('upstreamBase (parsed once per upstream)', () => {
  it('keeps a remote base path as a prefix and fills in default ports', () => {
    expect(upstreamBase('https://api.example.com/openai/')).toEqual({ origin: 'https://api.example.com', https: true, hostname: 'api.example.com', port: 443, pathPrefix: '/openai' });
    expect(upstreamBase('http://127.0.0.1:8081')).toEqual({ origin: 'http://127.0.0.1:8081', https: false, hostname: '127.0.0.1', port: 8081, pathPrefix: '' });
  });
  it('unwraps an IPv6 literal for the socket', () => {
    expect(upstreamBase('http://[::1]:9000').hostname).toBe('::1');
  });
  it('returns the same object for the same URL (no parse per request)', () => {
    expect(upstreamBase('http://127.0.0.1:8082')).toBe(upstreamBase('http://127.0.0.1:8082'));
  });
});
