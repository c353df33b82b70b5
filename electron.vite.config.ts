/**
 * electron-vite builds the desktop app's three parts: main (ESM, dependencies external), preload
 * (CommonJS with its dependencies bundled, because a sandboxed preload can only require
 * `electron`), and the renderer (React). The same renderer build is served by `aima serve`.
 */
import { defineConfig } from 'electron-vite';
import react from '@vitejs/plugin-react';
import { readFileSync } from 'node:fs';

const version = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8')).version as string;
const define = { __AIMA_VERSION__: JSON.stringify(version) };

export default defineConfig({
  main: {
    define,
    build: { externalizeDeps: true },
  },
  preload: {
    build: {
      externalizeDeps: false,
      rollupOptions: { output: { format: 'cjs', entryFileNames: '[name].cjs' } },
    },
  },
  renderer: {
    define,
    plugins: [react()],
  },
});
