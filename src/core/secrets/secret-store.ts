/**
 * Secrets (the Hugging Face token): kept in the OS keychain through @napi-rs/keyring, or encrypted
 * with Electron's safeStorage inside the desktop app, or — the stated last resort, with a warning
 * — in a 0600 file in the data directory. Never in SQLite, never in logs.
 */
import { chmodSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

export type SecretStoreKind = 'keychain' | 'electron-safe-storage' | 'file';

export interface SecretStore {
  readonly kind: SecretStoreKind;
  get(key: string): string | null;
  set(key: string, value: string): void;
  delete(key: string): void;
}

/**
 * Electron's safeStorage, injected by the shell (src/main/safe-storage.ts) so the core
 * never imports Electron.
 */
export interface StringCipher {
  isAvailable(): boolean;
  encrypt(plain: string): Buffer;
  decrypt(cipher: Buffer): string;
}

/** What @napi-rs/keyring's `Entry` offers; a seam so tests can pass a fake or a broken one. */
export interface KeyringEntry {
  getPassword(): string | null | undefined;
  setPassword(value: string): void;
  deletePassword(): boolean | void;
}
export type KeyringFactory = (service: string, account: string) => KeyringEntry;

const SERVICE = 'AIMA';

/** Loads @napi-rs/keyring, or returns the reason it cannot be used. */
export function loadKeyring(): KeyringFactory | string {
  try {
    const require = createRequire(import.meta.url);
    const { Entry } = require('@napi-rs/keyring') as { Entry: new (s: string, a: string) => KeyringEntry };
    return (service, account) => new Entry(service, account);
  } catch (err) {
    return `@napi-rs/keyring could not be loaded (${(err as Error).message.split('\n')[0]})`;
  }
}

class KeyringStore implements SecretStore {
  readonly kind = 'keychain';
  constructor(
    private readonly make: KeyringFactory,
    private readonly namespace: string,
  ) {}
  private entry(key: string) {
    return this.make(SERVICE, `${this.namespace}:${key}`);
  }
  get(key: string) {
    try {
      return this.entry(key).getPassword() ?? null;
    } catch {
      return null;
    }
  }
  set(key: string, value: string) {
    this.entry(key).setPassword(value);
  }
  delete(key: string) {
    try {
      this.entry(key).deletePassword();
    } catch {
      // Already gone.
    }
  }
}

/** A JSON map in one file, written atomically with mode 0600; values optionally encrypted. */
class FileStore implements SecretStore {
  constructor(
    readonly kind: 'file' | 'electron-safe-storage',
    private readonly file: string,
    private readonly cipher?: StringCipher,
  ) {}
  private read(): Record<string, string> {
    if (!existsSync(this.file)) return {};
    try {
      return JSON.parse(readFileSync(this.file, 'utf8')) as Record<string, string>;
    } catch {
      return {};
    }
  }
  private write(map: Record<string, string>) {
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, JSON.stringify(map), { mode: 0o600 });
    chmodSync(tmp, 0o600);
    renameSync(tmp, this.file);
  }
  get(key: string) {
    const v = this.read()[key];
    if (v === undefined) return null;
    return this.cipher ? this.cipher.decrypt(Buffer.from(v, 'base64')) : v;
  }
  set(key: string, value: string) {
    const map = this.read();
    map[key] = this.cipher ? this.cipher.encrypt(value).toString('base64') : value;
    this.write(map);
  }
  delete(key: string) {
    const map = this.read();
    if (!(key in map)) return;
    delete map[key];
    this.write(map);
  }
}

/**
 * The chosen store, which also finds what a weaker store holds from a start when the better one
 * was unavailable (a keychain that failed its probe once, a desktop app's safeStorage missing):
 * such a secret is moved into the chosen store on first read, and a set or delete leaves no copy
 * behind in the weaker one. Without this, a secret written during an outage would be invisible
 * once the better store is back.
 */
class LayeredStore implements SecretStore {
  constructor(
    private readonly primary: SecretStore,
    private readonly older: SecretStore[],
  ) {}
  get kind(): SecretStoreKind {
    return this.primary.kind;
  }
  get(key: string) {
    const value = this.primary.get(key);
    if (value !== null) return value;
    for (const o of this.older) {
      const found = o.get(key);
      if (found === null) continue;
      try {
        this.primary.set(key, found);
        o.delete(key);
      } catch {
        // Moved on a later read: the value is still returned from where it is.
      }
      return found;
    }
    return null;
  }
  set(key: string, value: string) {
    this.primary.set(key, value);
    for (const o of this.older) o.delete(key);
  }
  delete(key: string) {
    this.primary.delete(key);
    for (const o of this.older) o.delete(key);
  }
}

export interface OpenSecretStoreOptions {
  dataDir: string;
  /** Default: @napi-rs/keyring. A string is the reason no keychain is available. */
  keyring?: KeyringFactory | string;
  /** Electron safeStorage inside the desktop app. */
  cipher?: StringCipher;
}

export interface OpenedSecretStore {
  store: SecretStore;
  /** Set when the store fell back to the plain file: surfaced in the UI and logs. */
  warning?: string;
}

/**
 * Picks the first store that works: the keychain (probed with a write/read/delete round trip,
 * because on a headless Linux the library loads but no Secret Service answers), then Electron's
 * safeStorage, then the 0600 file with a warning.
 */
export function openSecretStore(opts: OpenSecretStoreOptions): OpenedSecretStore {
  const reasons: string[] = [];
  const keyring = opts.keyring ?? loadKeyring();
  if (typeof keyring === 'string') {
    reasons.push(keyring);
  } else {
    const ns = path.resolve(opts.dataDir);
    try {
      const probe = keyring(SERVICE, `${ns}:probe`);
      probe.setPassword('ok');
      const back = probe.getPassword();
      probe.deletePassword();
      if (back !== 'ok') throw new Error('the keychain did not return what was stored');
      return { store: withOlder(new KeyringStore(keyring, ns), opts) };
    } catch (err) {
      reasons.push(`the OS keychain is unavailable (${(err as Error).message})`);
    }
  }
  if (opts.cipher) {
    if (opts.cipher.isAvailable()) return { store: withOlder(new FileStore('electron-safe-storage', path.join(opts.dataDir, 'secrets.enc.json'), opts.cipher), opts) };
    reasons.push('Electron safeStorage has no encryption backend');
  }
  const file = path.join(opts.dataDir, 'secrets.json');
  return {
    store: new FileStore('file', file),
    warning: `Secrets are kept unencrypted in ${file} (mode 0600): ${reasons.join('; ')}.`,
  };
}

/** `store` with the weaker stores' files of this data directory behind it (see LayeredStore). */
function withOlder(store: SecretStore, opts: OpenSecretStoreOptions): SecretStore {
  const older: SecretStore[] = [];
  const encrypted = path.join(opts.dataDir, 'secrets.enc.json');
  if (store.kind === 'keychain' && opts.cipher?.isAvailable() && existsSync(encrypted)) older.push(new FileStore('electron-safe-storage', encrypted, opts.cipher));
  const plain = path.join(opts.dataDir, 'secrets.json');
  if (existsSync(plain)) older.push(new FileStore('file', plain));
  return older.length > 0 ? new LayeredStore(store, older) : store;
}
