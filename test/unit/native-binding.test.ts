import { describe, expect, it } from 'vitest';
import { selectSqliteBinding, electronBindingPath } from '../../src/core/store/native-binding.js';
import { AimaError } from '../../src/shared/errors.js';

describe('better-sqlite3 native binding selection', () => {
  const none = () => false;

  it('uses the default (Node) build outside Electron', () => {
    expect(selectSqliteBinding({ env: {}, searchRoots: ['/app'], exists: none })).toEqual({ kind: 'default' });
  });

  it('uses the Electron build for the running Electron major version', () => {
    const want = electronBindingPath('/res', '45.4.1');
    expect(want).toBe('/res/native/electron-45/better_sqlite3.node');
    const choice = selectSqliteBinding({ electronVersion: '45.4.1', env: {}, searchRoots: ['/app', '/res'], exists: (f) => f === want });
    expect(choice).toEqual({ kind: 'file', path: want, why: 'electron' });
  });

  it('refuses inside Electron without an Electron build, naming where it looked and the fix', () => {
    let err: unknown;
    try {
      selectSqliteBinding({ electronVersion: '45.4.1', env: {}, searchRoots: ['/app'], exists: none });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(AimaError);
    expect((err as AimaError).message).toContain('/app/native/electron-45/better_sqlite3.node');
    expect((err as AimaError).fix).toMatch(/build:native-electron/);
  });

  it('lets AIMA_SQLITE_BINDING override, and checks that it exists', () => {
    const exists = (f: string) => f === '/custom.node';
    expect(selectSqliteBinding({ electronVersion: '45.4.1', env: { AIMA_SQLITE_BINDING: '/custom.node' }, searchRoots: [], exists })).toEqual({
      kind: 'file',
      path: '/custom.node',
      why: 'env',
    });
    expect(() => selectSqliteBinding({ env: { AIMA_SQLITE_BINDING: '/missing.node' }, searchRoots: [], exists })).toThrow(/does not exist/);
  });
});
