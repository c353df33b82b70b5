/**
 * The listenHost setting beyond loopback is refused while no API key exists (the next start would
 * refuse to bind it), and kept once one does.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAima, startServe, tempHome, type ServeHandle } from '../support/cli.js';
import type { Settings } from '../../src/shared/contract/index.js';

let serve: ServeHandle | undefined;
let home: string;
const aima = (...args: string[]) => runAima(args, { AIMA_HOME: home });
const listenHost = async () => (JSON.parse((await aima('settings', 'get', '--json')).stdout) as Settings).listenHost;

beforeAll(async () => {
  home = tempHome('aima-listen-host-');
  serve = await startServe({ AIMA_HOME: home });
}, 120_000);
afterAll(async () => {
  await serve?.stop();
});

describe('aima settings set listenHost', () => {
  it('beyond loopback without a key: refused, naming the fix, nothing changed; with a key: kept', async () => {
    const refused = await aima('settings', 'set', 'listenHost', '0.0.0.0');
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('listenHost 0.0.0.0 would expose AIMA to other machines, and no API key exists to protect it.');
    expect(refused.stderr).toContain('aima key create');
    expect(await listenHost()).toBe('127.0.0.1');

    expect((await aima('settings', 'set', 'listenHost', '127.0.0.1')).code).toBe(0);
    expect((await aima('key', 'create', 'laptop')).code).toBe(0);
    expect((await aima('settings', 'set', 'listenHost', '0.0.0.0')).code).toBe(0);
    expect(await listenHost()).toBe('0.0.0.0');
  });
});
