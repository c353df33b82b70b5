/**
 * DockerRuntime.stop returns once the container is gone. The die handler removes a stopped
 * container too; when that removal started first, the daemon answers ours with 409 ("removal
 * already in progress") while the container is still listed. The real-daemon suite
 * (test/integration/docker-runtime.test.ts) met this once on a loaded machine; here the daemon's
 * answers are scripted so the order is certain.
 */
import { describe, expect, it } from 'vitest';
import type Docker from 'dockerode';
import { DockerRuntime } from '../../src/core/runtimes/docker/docker-runtime.js';

const daemonError = (statusCode: number, message: string) => Object.assign(new Error(message), { statusCode });

function scriptedDaemon(removeAnswers: Array<Error | null>) {
  const calls: string[] = [];
  const container = {
    stop: async () => void calls.push('stop'),
    kill: async () => void calls.push('kill'),
    remove: async () => {
      calls.push('remove');
      const answer = removeAnswers.shift();
      if (answer) throw answer;
    },
  };
  const docker = { getContainer: () => container } as unknown as Docker;
  return { docker, calls };
}

const handle = { pid: 1, startTime: null, ownChild: true, host: '127.0.0.1', port: 1, logFile: '/dev/null', containerId: 'c0ffee' };

describe('DockerRuntime.stop', () => {
  it('waits out a removal already in progress (409) until the container is gone (404)', async () => {
    const { docker, calls } = scriptedDaemon([daemonError(409, 'removal of container c0ffee is already in progress'), daemonError(409, 'removal of container c0ffee is already in progress'), daemonError(404, 'No such container')]);
    const runtime = new DockerRuntime({ docker, facts: {} as never, installId: '0a1b2c3d-0000-4000-8000-00000000aaaa' });
    await runtime.stop(handle, { graceMs: 1000 });
    expect(calls).toEqual(['stop', 'remove', 'remove', 'remove']);
  });

  it('a removal that succeeds at once is the end of it', async () => {
    const { docker, calls } = scriptedDaemon([null]);
    const runtime = new DockerRuntime({ docker, facts: {} as never, installId: '0a1b2c3d-0000-4000-8000-00000000aaaa' });
    await runtime.stop(handle, { graceMs: 0, force: true });
    expect(calls).toEqual(['kill', 'remove']);
  });
});
