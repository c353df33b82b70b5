// Lint rules that keep the architecture honest: dependencies point one way between the folders of
// src/ (the `aima/boundaries` rule below, with its table), and only the preload touches ipcRenderer.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';
import path from 'node:path';

/**
 * What each folder of src/ must not import: other folders of src/ (`folders`), Electron
 * (`electron`), Node built-ins (`builtins`). A relative specifier is resolved against the
 * importing file, so `../../core/x.js` counts wherever it is written from. ESLint's own
 * no-restricted-imports cannot do that and does not see import(); this rule checks static imports,
 * export ... from, import() and require() alike. test/unit/lint-boundaries.test.ts plants one
 * violation per line of this table.
 */
const SRC = ['core', 'main', 'lib', 'shared', 'cli', 'workers', 'renderer', 'preload'];
export const boundaries = {
  core: { folders: ['main', 'cli', 'workers', 'renderer', 'preload'], electron: true, why: 'the core is Electron-free and knows no adapter: put what it shares with workers or the CLI in src/lib' },
  lib: { folders: ['core', 'main', 'cli', 'workers', 'renderer', 'preload'], electron: true, why: 'src/lib holds Node helpers the core, workers and CLI share: it depends on none of them' },
  workers: { folders: ['core', 'main', 'cli', 'renderer', 'preload'], electron: true, why: 'workers are separate processes: they share code with the core only through src/lib and src/shared' },
  cli: { folders: ['main', 'renderer', 'preload'], electron: true, why: 'the CLI runs in plain Node' },
  shared: { folders: SRC.filter((f) => f !== 'shared'), electron: true, builtins: true, why: 'src/shared (the contract) runs in the renderer too: no Node, nothing outside src/shared' },
  renderer: { folders: ['core', 'lib', 'workers', 'main', 'cli'], electron: true, builtins: true, why: 'the renderer talks to the core only through src/renderer/src/api' },
};
const builtins = new Set(builtinModules);
const boundariesRule = {
  meta: { type: 'problem', schema: [], messages: { banned: '{{from}} must not import {{what}}: {{why}}.' } },
  create(context) {
    const srcDir = path.join(context.cwd, 'src');
    const own = path.relative(srcDir, context.filename).split(path.sep)[0];
    const rule = boundaries[own];
    if (!rule || own.startsWith('..')) return {};
    const check = (node) => {
      if (!node || node.type !== 'Literal' || typeof node.value !== 'string') return;
      const spec = node.value;
      let what = null;
      if (rule.electron && (spec === 'electron' || /^@?electron\//.test(spec))) what = 'electron';
      else if (rule.builtins && (spec.startsWith('node:') || builtins.has(spec.split('/')[0]))) what = `the Node built-in '${spec}'`;
      else if (spec.startsWith('.')) {
        const target = path.relative(srcDir, path.resolve(path.dirname(context.filename), spec)).split(path.sep);
        if (target[0] !== own && (rule.folders.includes(target[0]) || (own === 'shared' && target[0] === '..'))) what = target[0] === '..' ? `'${spec}' (outside src)` : `src/${target[0]} ('${spec}')`;
      }
      if (what) context.report({ node, messageId: 'banned', data: { from: `src/${own}`, what, why: rule.why } });
    };
    return {
      ImportDeclaration: (n) => check(n.source),
      ExportNamedDeclaration: (n) => check(n.source),
      ExportAllDeclaration: (n) => check(n.source),
      ImportExpression: (n) => check(n.source),
      TSImportType: (n) => check(n.argument?.literal ?? n.argument),
      CallExpression: (n) => {
        if (n.callee.type === 'Identifier' && n.callee.name === 'require') check(n.arguments[0]);
      },
    };
  },
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
    files: ['src/**/*.{ts,tsx,mts,js,mjs}'],
    plugins: { aima: { rules: { boundaries: boundariesRule } } },
    rules: { 'aima/boundaries': 'error' },
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
