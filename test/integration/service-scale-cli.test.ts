/**
 * `aima service create --replicas N`, `aima service scale NAME N` and `aima service list` against a
 * real `aima serve`: what they print, and the refusals (0, 1000, a fixed port, a missing service)
 * with a non-zero exit, a message naming the problem and nothing changed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAima, startServe, tempHome, type ServeHandle } from '../support/cli.js';
import { writeFakeEngine } from '../support/services.js';

let serve: ServeHandle;
let home: string;
const aima = (...args: string[]) => runAima(args, { AIMA_HOME: home });

beforeAll(async () => {
  home = tempHome();
  writeFakeEngine(home, 'fake', ['--load-ms', '20']);
  serve = await startServe({ AIMA_HOME: home });
}, 60_000);
afterAll(async () => {
  await serve?.stop();
});

describe('aima service create --replicas / scale', () => {
  it('creates, lists and scales replicas; refuses bad counts, a fixed port and a missing service with nothing changed', async () => {
    const created = await aima('service', 'create', 'web', '--engine', 'fake', '--replicas', '2');
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toMatch(/^Created web: stopped and 1 replica \(web-2\)\. Start them with `aima service start web`\./);
    const list = await aima('service', 'list');
    expect(list.stdout).toMatch(/\nweb +stopped/);
    expect(list.stdout).toMatch(/\nweb-2 \(replica of web\) +stopped/);

    const scaled = await aima('service', 'scale', 'web', '3');
    expect(scaled.code, scaled.stderr).toBe(0);
    expect(scaled.stdout).toMatch(/^web: 3 services, added web-3\.\n {2}web: stopped\n {2}web-2: stopped\n {2}web-3: stopped/);

    const before = (await aima('service', 'list', '--json')).stdout;
    const refusals: [string[], RegExp][] = [
      [['service', 'create', 'x', '--engine', 'fake', '--replicas', '0'], /--replicas must be a whole number >= 1 \(got "0"\)/],
      [['service', 'create', 'x', '--engine', 'fake', '--replicas', '1000'], /replicas must be at most 64/],
      [['service', 'create', 'x', '--engine', 'fake', '--replicas', '2', '--port', '18631'], /2 replicas cannot share the fixed port 18631.*\n?.*Leave out --port/],
      [['service', 'scale', 'web', '0'], /replicas must be a whole number >= 1 \(got "0"\)/],
      [['service', 'scale', 'web', '1000'], /replicas must be at most 64/],
      [['service', 'scale', 'ghost', '2'], /ghost/],
      [['service', 'scale', 'web-2', '2'], /"web-2" is a replica of "web"/],
    ];
    for (const [args, message] of refusals) {
      const r = await aima(...args);
      expect(r.code, `aima ${args.join(' ')}`).not.toBe(0);
      expect(r.stderr, `aima ${args.join(' ')}`).toMatch(message);
    }
    expect((await aima('service', 'list', '--json')).stdout).toBe(before);

    const down = await aima('service', 'scale', 'web', '1');
    expect(down.stdout).toMatch(/^web: 1 service, removed web-3, web-2\./);
    expect(await aima('service', 'rm', 'web')).toMatchObject({ code: 0 });
  });
});
