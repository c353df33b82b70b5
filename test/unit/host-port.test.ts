/** Hosts joined with ports: an IPv6 literal in brackets, everything else as is; URL-bracketed hosts made bare for sockets. */
import { describe, expect, it } from 'vitest';
import { hostForPort, joinHostPort, unbracketHost } from '../../src/shared/host-port.js';
import { dockerOptionsFromHost, describeEndpoint } from '../../src/core/runtimes/docker/platform.js';
import { formatNodeEndpoint, parseNodeEndpoint } from '../../src/core/nodes/endpoint.js';

describe('joinHostPort', () => {
  const table: [string, number, string][] = [
    ['10.0.0.1', 6379, '10.0.0.1:6379'],
    ['spark-1.lan', 6379, 'spark-1.lan:6379'],
    ['localhost', 80, 'localhost:80'],
    ['::1', 6379, '[::1]:6379'],
    ['fd00::2', 20000, '[fd00::2]:20000'],
    ['fe80::1%eth0', 6379, '[fe80::1%eth0]:6379'],
    ['::ffff:10.0.0.1', 6379, '[::ffff:10.0.0.1]:6379'],
    ['[fd00::2]', 6379, '[fd00::2]:6379'],
  ];
  for (const [host, port, joined] of table) {
    it(`${host} + ${port} → ${joined}`, () => {
      expect(joinHostPort(host, port)).toBe(joined);
      expect(joinHostPort(host, String(port))).toBe(joined);
    });
  }

  it('hostForPort leaves names and IPv4 alone and brackets IPv6 once', () => {
    expect(['10.0.0.1', 'gpu-b', '::1', '[::1]'].map(hostForPort)).toEqual(['10.0.0.1', 'gpu-b', '[::1]', '[::1]']);
  });

  it('unbracketHost undoes what a URL keeps in hostname', () => {
    expect(unbracketHost(new URL('tcp://[fd00::2]:2376').hostname)).toBe('fd00::2');
    expect(['10.0.0.1', 'gpu-b', '::1'].map(unbracketHost)).toEqual(['10.0.0.1', 'gpu-b', '::1']);
  });
});

describe('where Docker endpoints carry an IPv6 literal', () => {
  it('DOCKER_HOST=tcp://[::1]:2375 gives the socket the bare address, and messages name it in brackets', () => {
    const o = dockerOptionsFromHost('tcp://[::1]:2375');
    expect(o).toMatchObject({ host: '::1', port: '2375', protocol: 'http' });
    expect(describeEndpoint({ modem: o } as unknown as Parameters<typeof describeEndpoint>[0])).toBe('tcp://[::1]:2375');
  });

  it('a node endpoint round-trips', () => {
    const e = parseNodeEndpoint('tcp://[fd00::2]:2376');
    expect(e).toMatchObject({ host: 'fd00::2', port: 2376 });
    expect(formatNodeEndpoint(e)).toBe('tcp://[fd00::2]:2376');
    expect(formatNodeEndpoint(parseNodeEndpoint('ssh://me@[fd00::3]:2222'))).toBe('ssh://me@[fd00::3]:2222');
  });
});
