import { describe, expect, it } from 'vitest';
import { resolveDataDir, dataPaths } from '../../src/core/config/paths.js';
import { readEnv, parsePort } from '../../src/core/config/env.js';

describe('data directory resolver', () => {
  const linux = { platform: 'linux' as const, homedir: '/home/ada' };

  it('uses AIMA_HOME over everything else', () => {
    expect(resolveDataDir({ AIMA_HOME: '/srv/aima', XDG_DATA_HOME: '/x' }, linux)).toBe('/srv/aima');
  });
  it('follows XDG_DATA_HOME on Linux, defaulting to ~/.local/share', () => {
    expect(resolveDataDir({ XDG_DATA_HOME: '/data' }, linux)).toBe('/data/aima');
    expect(resolveDataDir({}, linux)).toBe('/home/ada/.local/share/aima');
  });
  it('ignores a relative XDG_DATA_HOME, as the spec requires', () => {
    expect(resolveDataDir({ XDG_DATA_HOME: 'rel/dir' }, linux)).toBe('/home/ada/.local/share/aima');
  });
  it('uses the platform conventions on macOS and Windows', () => {
    expect(resolveDataDir({}, { platform: 'darwin', homedir: '/Users/ada' })).toBe('/Users/ada/Library/Application Support/AIMA');
    expect(resolveDataDir({ APPDATA: 'C:\\Users\\ada\\AppData\\Roaming' }, { platform: 'win32', homedir: 'C:\\Users\\ada' })).toBe(
      'C:\\Users\\ada\\AppData\\Roaming\\AIMA',
    );
  });
  it('places the store, lock and token inside the data directory', () => {
    const p = dataPaths('/d');
    expect([p.database, p.lock, p.token]).toEqual(['/d/aima.db', '/d/core.lock', '/d/token']);
  });
});

describe('environment', () => {
  it('reads only declared variables and treats empty as unset', () => {
    const env = readEnv({ AIMA_HOME: '/h', AIMA_PORT: '', UNRELATED: 'x' });
    expect(env).toEqual({ AIMA_HOME: '/h' });
  });
  it('parses ports and names the bad value', () => {
    expect(parsePort('9090', '--port')).toBe(9090);
    expect(() => parsePort('http', '--port')).toThrow(/--port must be a port number.*"http"/);
    expect(() => parsePort('70000', 'AIMA_PORT')).toThrow(/AIMA_PORT/);
  });
});
