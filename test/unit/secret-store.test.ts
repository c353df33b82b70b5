import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openSecretStore, type KeyringFactory } from '../../src/core/secrets/secret-store.js';

const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'aima-secrets-'));

describe('secret store fallback chain', () => {
  it('on this headless machine the real keychain is unavailable, so it falls back to a 0600 file with a warning', () => {
    const dir = tmp();
    const { store, warning } = openSecretStore({ dataDir: dir });
    // If a Secret Service ever runs here, the keychain is used and there is nothing to fall back from.
    if (store.kind === 'keychain') return;
    expect(store.kind).toBe('file');
    expect(warning).toMatch(/unencrypted in .*secrets\.json \(mode 0600\): .*keychain is unavailable|could not be loaded/);
    store.set('huggingface-token', 'hf_secret');
    expect(store.get('huggingface-token')).toBe('hf_secret');
    expect(statSync(path.join(dir, 'secrets.json')).mode & 0o777).toBe(0o600);
    store.delete('huggingface-token');
    expect(store.get('huggingface-token')).toBeNull();
  });

  it('uses a working keychain, namespaced per data directory', () => {
    const vault = new Map<string, string>();
    const keyring: KeyringFactory = (service, account) => ({
      getPassword: () => vault.get(`${service}/${account}`) ?? null,
      setPassword: (v) => void vault.set(`${service}/${account}`, v),
      deletePassword: () => vault.delete(`${service}/${account}`),
    });
    const dir = tmp();
    const { store, warning } = openSecretStore({ dataDir: dir, keyring });
    expect([store.kind, warning]).toEqual(['keychain', undefined]);
    store.set('huggingface-token', 'hf_x');
    expect([...vault.entries()]).toEqual([[`AIMA/${path.resolve(dir)}:huggingface-token`, 'hf_x']]);
  });

  it('a keychain that loads but fails the probe falls through to Electron safeStorage, which never writes plain text', () => {
    const broken: KeyringFactory = () => ({
      getPassword: () => null,
      setPassword: () => {
        throw new Error('Couldn\u2019t access platform storage: no Secret Service');
      },
      deletePassword: () => false,
    });
    const cipher = {
      isAvailable: () => true,
      encrypt: (s: string) => Buffer.from([...Buffer.from(s)].map((b) => b ^ 0x5a)),
      decrypt: (b: Buffer) => Buffer.from([...b].map((x) => x ^ 0x5a)).toString(),
    };
    const dir = tmp();
    const { store, warning } = openSecretStore({ dataDir: dir, keyring: broken, cipher });
    expect([store.kind, warning]).toEqual(['electron-safe-storage', undefined]);
    store.set('huggingface-token', 'hf_plain');
    expect(store.get('huggingface-token')).toBe('hf_plain');
    expect(readFileSync(path.join(dir, 'secrets.enc.json'), 'utf8')).not.toContain('hf_plain');
  });
});

describe('secrets written while a better store was unavailable', () => {
  const fakeKeyring = () => {
    const vault = new Map<string, string>();
    const keyring: KeyringFactory = (service, account) => ({
      getPassword: () => vault.get(`${service}/${account}`) ?? null,
      setPassword: (v) => void vault.set(`${service}/${account}`, v),
      deletePassword: () => vault.delete(`${service}/${account}`),
    });
    return { vault, keyring };
  };
  const broken: KeyringFactory = () => ({
    getPassword: () => null,
    setPassword: () => {
      throw new Error('AccessDenied');
    },
    deletePassword: () => false,
  });

  it('a secret kept in the file while the keychain failed is found once the keychain answers, moved into it, and gone from the file', () => {
    const dir = tmp();
    const during = openSecretStore({ dataDir: dir, keyring: broken });
    expect(during.store.kind).toBe('file');
    during.store.set('node:b:ssh-identity', 'PRIVATE KEY');
    during.store.set('huggingface-token', 'hf_old');

    const { vault, keyring } = fakeKeyring();
    const after = openSecretStore({ dataDir: dir, keyring });
    expect(after.store.kind).toBe('keychain');
    expect(after.store.get('node:b:ssh-identity')).toBe('PRIVATE KEY');
    expect(vault.get(`AIMA/${path.resolve(dir)}:node:b:ssh-identity`)).toBe('PRIVATE KEY');
    expect(JSON.parse(readFileSync(path.join(dir, 'secrets.json'), 'utf8'))).toEqual({ 'huggingface-token': 'hf_old' });
    // A new value replaces the file's copy; a delete removes it everywhere.
    after.store.set('huggingface-token', 'hf_new');
    expect(after.store.get('huggingface-token')).toBe('hf_new');
    expect(JSON.parse(readFileSync(path.join(dir, 'secrets.json'), 'utf8'))).toEqual({});
    after.store.delete('node:b:ssh-identity');
    expect(after.store.get('node:b:ssh-identity')).toBeNull();
    expect(openSecretStore({ dataDir: dir, keyring }).store.get('node:b:ssh-identity')).toBeNull();
  });

  it('a secret in the plain file is found by the desktop app once its safeStorage works, and moved into the encrypted file', () => {
    const dir = tmp();
    openSecretStore({ dataDir: dir, keyring: broken }).store.set('huggingface-token', 'hf_plain');
    const cipher = {
      isAvailable: () => true,
      encrypt: (s: string) => Buffer.from([...Buffer.from(s)].map((b) => b ^ 0x5a)),
      decrypt: (b: Buffer) => Buffer.from([...b].map((x) => x ^ 0x5a)).toString(),
    };
    const { store } = openSecretStore({ dataDir: dir, keyring: broken, cipher });
    expect(store.kind).toBe('electron-safe-storage');
    expect(store.get('huggingface-token')).toBe('hf_plain');
    expect(readFileSync(path.join(dir, 'secrets.json'), 'utf8')).not.toContain('hf_plain');
    expect(readFileSync(path.join(dir, 'secrets.enc.json'), 'utf8')).not.toContain('hf_plain');
    expect(openSecretStore({ dataDir: dir, keyring: broken, cipher }).store.get('huggingface-token')).toBe('hf_plain');
  });
});
