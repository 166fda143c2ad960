// Lint configuration. The block for core/ is what keeps the protocol core deterministic:
// it may not read the clock, schedule timers, draw randomness or do I/O by itself. The
// block for examples/ holds apps to the same rule and to the package's public API.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const nodeIoModules = [
  'fs', 'fs/promises', 'net', 'dgram', 'http', 'https', 'http2', 'tls', 'dns', 'child_process',
  'worker_threads', 'cluster', 'os', 'crypto', 'perf_hooks', 'timers', 'timers/promises', 'process',
  'readline', 'stream', 'v8', 'vm', 'inspector', 'async_hooks',
];

/**
 * The determinism rules, with messages naming the guarded folder: no clock, timers,
 * randomness, process state or I/O except through the environment, and no imports from
 * `importPatterns` (each `{ group, message }`, as no-restricted-imports takes them).
 */
function determinismRules(scope, importPatterns) {
  return {
    'no-restricted-globals': ['error',
      { name: 'Date', message: `${scope} is deterministic: take time from the Clock in the environment.` },
      { name: 'setTimeout', message: `${scope} is deterministic: schedule timers through the Clock.` },
      { name: 'setInterval', message: `${scope} is deterministic: schedule timers through the Clock.` },
      { name: 'setImmediate', message: `${scope} is deterministic: schedule timers through the Clock.` },
      { name: 'clearTimeout', message: `${scope} is deterministic: cancel timers through the Clock.` },
      { name: 'clearInterval', message: `${scope} is deterministic: cancel timers through the Clock.` },
      { name: 'queueMicrotask', message: `${scope} is deterministic: do not build timing on the microtask queue.` },
      { name: 'performance', message: `${scope} is deterministic: take time from the Clock in the environment.` },
      { name: 'process', message: `${scope} does no I/O and reads no process state.` },
      { name: 'crypto', message: `${scope} is deterministic: take randomness from the Random in the environment.` },
      { name: 'fetch', message: `${scope} does no I/O.` },
      { name: 'require', message: `${scope} imports modules statically.` },
    ],
    'no-restricted-properties': ['error',
      { object: 'Math', property: 'random', message: `${scope} is deterministic: use the Random from the environment.` },
      { object: 'globalThis', property: 'setTimeout', message: `${scope} is deterministic.` },
      { object: 'globalThis', property: 'Date', message: `${scope} is deterministic.` },
      { object: 'globalThis', property: 'performance', message: `${scope} is deterministic.` },
      { object: 'globalThis', property: 'crypto', message: `${scope} is deterministic.` },
      { object: 'globalThis', property: 'process', message: `${scope} is deterministic.` },
    ],
    'no-restricted-imports': ['error', {
      paths: nodeIoModules.flatMap((m) => [
        { name: m, message: `${scope} does no I/O: Node modules are for sim/ and net-real/.` },
        { name: `node:${m}`, message: `${scope} does no I/O: Node modules are for sim/ and net-real/.` },
      ]),
      patterns: [
        ...importPatterns,
        { group: ['seedrandom'], message: `${scope} takes randomness from the Random in the environment.` },
      ],
    }],
  };
}

export const coreDeterminismRules = determinismRules('core/', [
  { group: ['../sim/*', '../net-real/*', '../scenarios/*', '../tui/*', '../bin/*', '**/sim/**', '**/net-real/**', '**/scenarios/**', '**/tui/**', '**/examples/**'],
    message: 'core/ imports nothing outside core/.' },
]);

/** The package's entry points (package.json `exports`): all examples/ may import of shoal. */
export const publicEntryFiles = ['core/public.ts', 'sim/public.ts', 'net-real/public.ts', 'sim/testing.ts'];

/**
 * examples/ holds apps written as a user writes them: deterministic as core/ is (they run
 * in the simulator), and against the public API only, by relative path to the entry files
 * (`shoal` is core/public.ts, `shoal/sim` sim/public.ts, `shoal/real` net-real/public.ts,
 * `shoal/testing` sim/testing.ts). If an example needs more, the public API is wrong.
 */
export const examplesRules = determinismRules('examples/', [
  { group: ['**/core/**', '**/sim/**', '**/net-real/**', '**/scenarios/**', '**/tui/**', '**/bin/**', '**/bench/**', ...publicEntryFiles.map((f) => `!**/${f}`)],
    message: `examples/ use the public API only: import ${publicEntryFiles.join(', ')} (shoal, shoal/sim, shoal/real, shoal/testing).` },
]);

export default tseslint.config(
  { ignores: ['node_modules/**', 'out/**', 'coverage/**', 'dist/**'] },
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
  { files: ['examples/**/*.ts', 'examples/**/*.mts', 'examples/**/*.js', 'examples/**/*.mjs'], rules: examplesRules },
);
