/**
 * The data directory holds the install token, the database and the logs: AIMA creates it and its
 * logs owner-only, says so when an existing one is open to other users, and never writes the
 * token into the serve log of a core started in the background.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { runAima, tempHome } from '../support/cli.js';

const homes: string[] = [];
afterEach(async () => {
  while (homes.length) await runAima(['stop'], { AIMA_HOME: homes.pop()! });
});

const modeOf = (file: string) => statSync(file).mode & 0o777;

describe.skipIf(process.platform === 'win32')('data directory privacy', () => {
  it('a CLI starting the core creates the data directory and logs owner-only; the serve log never holds the token', async () => {
    const home = path.join(tempHome(), 'aima');
    homes.push(home);
    const first = await runAima(['settings', 'get', '--json'], { AIMA_HOME: home });
    expect(first.code, first.stderr).toBe(0);
    expect(modeOf(home)).toBe(0o700);
    expect(modeOf(path.join(home, 'logs'))).toBe(0o700);
    expect(modeOf(path.join(home, 'logs', 'serve.log'))).toBe(0o600);
    expect(modeOf(path.join(home, 'aima.db'))).toBe(0o600);
    const token = readFileSync(path.join(home, 'token'), 'utf8').trim();
    const log = readFileSync(path.join(home, 'logs', 'serve.log'), 'utf8');
    expect(log).not.toContain(token);
    expect(log).toContain('aima status');
    // `aima status` still shows the whole login URL to the user who owns the data directory.
    const status = JSON.parse((await runAima(['status', '--json'], { AIMA_HOME: home })).stdout) as { loginUrl: string };
    expect(status.loginUrl).toMatch(new RegExp(`/login\\?token=${token}$`));
  });

  it('an existing data directory open to other users gets a warning naming the chmod fix; its old serve log is tightened', async () => {
    const home = tempHome();
    homes.push(home);
    chmodSync(home, 0o755);
    mkdirSync(path.join(home, 'logs'), { mode: 0o755 });
    writeFileSync(path.join(home, 'logs', 'serve.log'), 'an older run\n', { mode: 0o644 });
    const first = await runAima(['settings', 'get', '--json'], { AIMA_HOME: home });
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toContain(`chmod 700 ${home}`);
    expect(readFileSync(path.join(home, 'logs', 'serve.log'), 'utf8')).toContain(`chmod 700 ${home}`);
    expect(modeOf(path.join(home, 'logs'))).toBe(0o700);
    expect(modeOf(path.join(home, 'logs', 'serve.log'))).toBe(0o600);
  });
});
