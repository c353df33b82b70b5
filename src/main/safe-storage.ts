/** Electron's safeStorage as the core's StringCipher (the core never imports Electron). */
import { safeStorage } from 'electron';
import type { StringCipher } from '../core/secrets/secret-store.js';

export const electronCipher: StringCipher = {
  isAvailable: () => safeStorage.isEncryptionAvailable() && safeStorage.getSelectedStorageBackend?.() !== 'basic_text',
  encrypt: (plain) => safeStorage.encryptString(plain),
  decrypt: (cipher) => safeStorage.decryptString(cipher),
};
