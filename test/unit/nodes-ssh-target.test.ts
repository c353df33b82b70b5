/**
 * The pure parts of reaching an SSH node: the address forms accepted and refused, and the reasons
 * read from a failed `docker` run on the node.
 */
import { describe, expect, it } from 'vitest';
import os from 'node:os';
import { dockerCliRefusal } from '../../src/core/nodes/ssh/docker-ssh.js';
import { parseSshUrl } from '../../src/core/nodes/ssh/ssh-target.js';

describe('parseSshUrl', () => {
  it.each([
    ['ssh://me@gpu-box', { user: 'me', host: 'gpu-box', port: 22 }],
    ['ssh://me@gpu-box:2222', { user: 'me', host: 'gpu-box', port: 2222 }],
    ['ssh://me@10.0.0.5/', { user: 'me', host: '10.0.0.5', port: 22 }],
    ['ssh://me@[fd00::5]:2200', { user: 'me', host: 'fd00::5', port: 2200 }],
    ['ssh://first%40corp@gpu-box', { user: 'first@corp', host: 'gpu-box', port: 22 }],
    ['ssh://gpu-box', { user: os.userInfo().username, host: 'gpu-box', port: 22 }],
  ])('%s', (url, expected) => {
    expect(parseSshUrl(url)).toEqual(expected);
  });

  it.each([
    ['gpu-box', 'does not parse as a URL'],
    ['tcp://gpu-box:2376', 'the scheme is tcp, not ssh'],
    ['ssh://me:secret@gpu-box', 'passwords in the address are not supported'],
    ['ssh://me@gpu-box/var/run/docker.sock', 'it has a path, query or fragment'],
  ])('refuses %s', (url, why) => {
    expect(() => parseSshUrl(url)).toThrow(why);
  });
});

describe('dockerCliRefusal', () => {
  it.each([
    [127, 'sh: 1: docker: not found\n', 'docker-missing'],
    [1, 'permission denied while trying to connect to the Docker daemon socket at unix:///var/run/docker.sock', 'docker-denied'],
    [1, 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?', 'docker-down'],
  ])('exit %s: %s', (code, stderr, reason) => {
    const err = dockerCliRefusal('me@gpu-box', 'me', code, stderr);
    expect(err.reason).toBe(reason);
    expect(err.message).toContain('me@gpu-box');
  });

  it('names the group fix for a user without access', () => {
    expect(dockerCliRefusal('me@gpu-box', 'me', 1, 'permission denied').fix).toContain('sudo usermod -aG docker me');
  });
});
