// Lint configuration. The block for core/ is what keeps the protocol core deterministic:
// it may not read the clock, schedule timers, draw randomness or do I/O by itself.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const nodeIoModules = [
  'fs', 'fs/promises', 'net', 'dgram', 'http', 'https', 'http2', 'tls', 'dns', 'child_process',
  'worker_threads', 'cluster', 'os', 'crypto', 'perf_hooks', 'timers', 'timers/promises', 'process',
  'readline', 'stream', 'v8', 'vm', 'inspector', 'async_hooks',
];

export const coreDeterminismRules = {
  'no-restricted-globals': ['error',
    { name: 'Date', message: 'core/ is deterministic: take time from the Clock in the environment.' },
    { name: 'setTimeout', message: 'core/ is deterministic: schedule timers through the Clock.' },
    { name: 'setInterval', message: 'core/ is deterministic: schedule timers through the Clock.' },
    { name: 'setImmediate', message: 'core/ is deterministic: schedule timers through the Clock.' },
    { name: 'clearTimeout', message: 'core/ is deterministic: cancel timers through the Clock.' },
    { name: 'clearInterval', message: 'core/ is deterministic: cancel timers through the Clock.' },
    { name: 'queueMicrotask', message: 'core/ is deterministic: do not build timing on the microtask queue.' },
    { name: 'performance', message: 'core/ is deterministic: take time from the Clock in the environment.' },
    { name: 'process', message: 'core/ does no I/O and reads no process state.' },
    { name: 'crypto', message: 'core/ is deterministic: take randomness from the Random in the environment.' },
    { name: 'fetch', message: 'core/ does no I/O.' },
    { name: 'require', message: 'core/ imports modules statically.' },
  ],
  'no-restricted-properties': ['error',
    { object: 'Math', property: 'random', message: 'core/ is deterministic: use the Random from the environment.' },
    { object: 'globalThis', property: 'setTimeout', message: 'core/ is deterministic.' },
    { object: 'globalThis', property: 'Date', message: 'core/ is deterministic.' },
    { object: 'globalThis', property: 'performance', message: 'core/ is deterministic.' },
    { object: 'globalThis', property: 'crypto', message: 'core/ is deterministic.' },
    { object: 'globalThis', property: 'process', message: 'core/ is deterministic.' },
  ],
  'no-restricted-imports': ['error', {
    paths: nodeIoModules.flatMap((m) => [
      { name: m, message: 'core/ does no I/O: Node modules are for sim/ and net-real/.' },
      { name: `node:${m}`, message: 'core/ does no I/O: Node modules are for sim/ and net-real/.' },
    ]),
    patterns: [
      { group: ['../sim/*', '../net-real/*', '../scenarios/*', '../tui/*', '../bin/*', '**/sim/**', '**/net-real/**', '**/scenarios/**', '**/tui/**'],
        message: 'core/ imports nothing outside core/.' },
      { group: ['seedrandom'], message: 'core/ takes randomness from the Random in the environment.' },
    ],
  }],
};

export default tseslint.config(
  { ignores: ['node_modules/**', 'out/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        console: 'readonly', process: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly',
        setInterval: 'readonly', clearInterval: 'readonly', setImmediate: 'readonly', queueMicrotask: 'readonly',
        performance: 'readonly', URL: 'readonly', TextEncoder: 'readonly', TextDecoder: 'readonly',
        AbortController: 'readonly', AbortSignal: 'readonly', Buffer: 'readonly', structuredClone: 'readonly',
        globalThis: 'readonly', fetch: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-explicit-any': 'error',
    },
  },
  { files: ['core/**/*.ts'], rules: coreDeterminismRules },
);
