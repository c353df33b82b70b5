// Lint rules that keep the architecture honest: the core and the shared contract never import
// Electron (the core must run headless under `aima serve` and in tests), and only the preload
// touches ipcRenderer.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const noElectron = {
  paths: [{ name: 'electron', message: 'The core and src/shared must stay Electron-free: put Electron code in src/main.' }],
  patterns: [{ group: ['electron/*', '@electron/*'], message: 'The core and src/shared must stay Electron-free.' }],
};

export default tseslint.config(
  { ignores: ['out/**', 'node_modules/**', 'dist/**', '.carry/**', 'test/fixtures/**', 'bench/results/**', 'test-results/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/no-explicit-any': 'error',
      'no-empty': ['error', { allowEmptyCatch: true }],
    },
  },
  {
    files: ['src/core/**', 'src/shared/**', 'src/cli/**', 'src/workers/**'],
    rules: { 'no-restricted-imports': ['error', noElectron] },
  },
  {
    files: ['src/renderer/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        { paths: [{ name: 'electron', message: 'The renderer talks to the core only through src/renderer/src/api/client.ts.' }] },
      ],
    },
  },
  {
    files: ['src/**'],
    ignores: ['src/preload/**'],
    rules: {
      'no-restricted-syntax': ['error', { selector: "Identifier[name='ipcRenderer']", message: 'Only the preload bridge uses ipcRenderer.' }],
    },
  },
  {
    files: ['**/*.mjs', 'scripts/**', 'bench/**', 'test/fixtures/bin/**'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', Buffer: 'readonly', fetch: 'readonly', AbortController: 'readonly', performance: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', TextDecoder: 'readonly', TextEncoder: 'readonly' } },
  },
);
