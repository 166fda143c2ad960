import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The package as a user gets it: `npm pack` here, then `npm install ./shoal-x.y.z.tgz` in a
 * fresh project outside the repository, used from plain JavaScript, from the `shoal`
 * command and from TypeScript. One pack and one install serve every test of the file.
 */
const repo = fileURLToPath(new URL('../..', import.meta.url));
const typescriptVersion = (JSON.parse(readFileSync(join(repo, 'node_modules', 'typescript', 'package.json'), 'utf8')) as { version: string }).version;

let work: string;
let project: string;
let tarball: string;
let typecheck: Promise<Result>;

interface Result {
  status: number | null;
  stdout: string;
  stderr: string;
}

function cleanEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  return env;
}

/** Runs a command without the test runner's loader options; fails with its output when it fails and `check` is set. */
function sh(command: string, args: readonly string[], cwd: string, check = true): Result {
  const result = spawnSync(command, args, { cwd, env: cleanEnv(), encoding: 'utf8', timeout: 120_000, maxBuffer: 64 << 20 });
  const out = { status: result.status, stdout: result.stdout ?? '', stderr: result.stderr ?? '' };
  if (check && out.status !== 0) throw new Error(`${command} ${args.join(' ')} exited ${out.status}\n${out.stdout.slice(-4_000)}\n${out.stderr.slice(-4_000)}`);
  return out;
}

function write(name: string, text: string): void {
  writeFileSync(join(project, name), text);
}

/** The consumer's own app: a tiny greeting service, and a member that greets one live peer every 250 ms. */
const appModule = `import { defineApp, defineService, unary } from 'shoal';

export const Greeter = defineService('greeter.v1', { hello: unary() });

export default defineApp({
  name: 'greeter',
  services: [Greeter],
  start(node) {
    node.server.register(Greeter, { hello: async ({ from }) => ({ reply: 'hello ' + from + ' from ' + node.name }) });
    let answered = 0;
    const greet = () => {
      node.report('members', node.membership.liveMembers);
      const peers = node.membership.members().filter((m) => m.name !== node.name && m.state === 'alive');
      const peer = peers[Math.floor(node.random.next() * peers.length)];
      if (peer) {
        node.client.service(Greeter, peer.address).hello({ from: node.name }, { timeoutMs: 500 })
          .then(({ reply }) => { node.report('answered', ++answered); node.report('last', reply); }, () => undefined);
      }
      node.clock.setTimer(250, greet);
    };
    greet();
  },
});
`;

/** A TypeScript consumer of every entry point; each `@ts-expect-error` proves a type bites (an `any` would leave it unused: an error). */
const typedConsumer = `import { defineApp, defineService, unary, RpcError, type AppNode, type MemberView, type StrategyName } from 'shoal';
import { Simulation, buildAppCluster, loadScenarioFile, loadScenarioApps, runScenario, type RunReport } from 'shoal/sim';
import { ShoalNode, createRealEnv, parseNodeFlags, type NodeConfig } from 'shoal/real';
import { checkApp, faultSchedule, fc, type AppRun, type FaultSchedule } from 'shoal/testing';

const Kv = defineService('kv.v1', { get: unary<{ key: string }, { value: string }>() });

export const app = defineApp<{ prefix: string }>({
  name: 'kv',
  services: [Kv],
  parseConfig: (raw) => ({ prefix: String((raw as { prefix?: string }).prefix ?? '') }),
  start(node: AppNode<{ prefix: string }>) {
    const members: MemberView[] = node.membership.members();
    node.report('members', members.length);
    node.server.register(Kv, { get: async ({ key }) => ({ value: node.config.prefix + key }) });
    // @ts-expect-error a handler must return the method's response type
    node.server.register(Kv, { get: async () => ({ value: 1 }) });
    const client = node.clusterClient(Kv, 'role=kv', { strategy: 'rendezvous' satisfies StrategyName });
    void client.call('get', { key: 'k' }, { deadlineMs: 100 }).then((r) => r.value.toUpperCase(), (e: unknown) => e instanceof RpcError && e.code);
  },
});

// @ts-expect-error report takes numbers, strings and booleans only
export const bad = defineApp({ name: 'bad', services: [], start: (node) => node.report('k', { nested: true }) });

const sim = new Simulation({ seed: 1 });
buildAppCluster(sim, { nodes: ['a', { name: 'b', tags: { role: 'kv' } }], apps: [{ app, on: 'role=kv', config: { prefix: 'p' } }] });
export const schedules: fc.Arbitrary<FaultSchedule> = faultSchedule({ nodes: ['a', 'b'], durationMs: 1_000 });
export const checked: Promise<AppRun> = checkApp({ app, nodes: 2, durationMs: 2_000, schedule: [], seed: 1, property: (run) => run.reported('n1').size > 0 });
export async function scenario(file: string): Promise<RunReport> {
  const loaded = loadScenarioFile(file);
  return runScenario(loaded, { apps: await loadScenarioApps(loaded, file) });
}
export async function node(): Promise<ShoalNode> {
  const config: NodeConfig = await parseNodeFlags({ name: 'a', bind: '127.0.0.1:0', 'dev-certs': 'certs' });
  return ShoalNode.start(config, undefined as never);
}
export const realEnv: typeof createRealEnv = createRealEnv;
`;

/** Starts `tsc` on `typedConsumer` (strict, no skipLibCheck) in the background: it runs while the other tests do. */
function startTypecheck(): Promise<Result> {
  write('tsconfig.json', JSON.stringify({
    compilerOptions: {
      target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true,
      skipLibCheck: false, exactOptionalPropertyTypes: true, noUncheckedIndexedAccess: true,
    },
    files: ['check.ts'],
  }));
  write('check.ts', typedConsumer);
  return new Promise((done) => {
    const child = spawn('npx', ['tsc', '-p', '.'], { cwd: project, env: cleanEnv() });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += String(chunk)));
    child.stderr.on('data', (chunk: Buffer) => (stderr += String(chunk)));
    child.on('close', (status) => done({ status, stdout, stderr }));
  });
}

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'shoal-package-'));
  sh('npm', ['pack', '--silent', '--pack-destination', work], repo);
  tarball = join(work, readdirSync(work).find((f) => f.endsWith('.tgz'))!);
  project = join(work, 'project');
  mkdirSync(project);
  write('package.json', JSON.stringify({ name: 'consumer', version: '1.0.0', private: true, type: 'module' }));
  const install = ['install', '--no-audit', '--no-fund', tarball, `typescript@${typescriptVersion}`];
  // From the npm cache when it holds everything; from the registry otherwise.
  if (sh('npm', [...install, '--offline'], project, false).status !== 0) sh('npm', install, project);
  write('app.mjs', appModule);
  typecheck = startTypecheck();
}, 180_000);

afterAll(async () => {
  await typecheck;
  if (work !== undefined) rmSync(work, { recursive: true, force: true });
}, 120_000);

describe('the packed package', () => {
  it('ships compiled JavaScript, types and the files read at run time, and no TypeScript sources', () => {
    const files = sh('tar', ['-tzf', tarball], work).stdout.split('\n').filter(Boolean).map((f) => f.replace(/^package\//, ''));
    for (const f of ['dist/core/public.js', 'dist/core/public.d.ts', 'dist/sim/public.js', 'dist/net-real/public.js', 'dist/sim/testing.d.ts',
      'dist/bin/cli.js', 'bin/shoal.js', 'certs/make-dev-certs.sh', 'scenarios/library/default.yaml']) expect(files, f).toContain(f);
    expect(files.filter((f) => /\.tsx?$/.test(f) && !f.endsWith('.d.ts'))).toEqual([]);
  });

  it('runs a plain .mjs that defines its own app and runs it in a simulation with a partition', () => {
    write('simulate.mjs', `import { Simulation, buildAppCluster } from 'shoal/sim';
import { isApp } from 'shoal';
import app from './app.mjs';

const sim = new Simulation({ seed: 7 });
const cluster = buildAppCluster(sim, { nodes: ['a', 'b', 'c'], apps: [{ app }] });
const snapshot = () => Object.fromEntries(cluster.names.map((n) => [n, Object.fromEntries(cluster.reported(n, app.name))]));
let partitioned;
sim.at(3_000, () => sim.partition(['a'], ['b', 'c']));
sim.at(12_000, () => { partitioned = snapshot(); sim.repair(); });
await sim.runUntilAsync(30_000);
console.log(JSON.stringify({ isApp: isApp(app), partitioned, healed: snapshot() }));
`);
    const out = JSON.parse(sh('node', ['simulate.mjs'], project).stdout) as {
      isApp: boolean;
      partitioned: Record<string, { members: number; answered: number }>;
      healed: Record<string, { members: number; answered: number; last: string }>;
    };
    expect(out.isApp).toBe(true);
    // The majority side sees two members during the partition, and every member sees three after it heals.
    expect([out.partitioned.b!.members, out.partitioned.c!.members]).toEqual([2, 2]);
    expect(Object.values(out.healed).map((v) => v.members)).toEqual([3, 3, 3]);
    // The isolated member's greetings get answered again once the partition heals.
    expect(out.healed.a!.answered).toBeGreaterThan(out.partitioned.a!.answered + 10);
    expect(out.healed.a!.last).toMatch(/^hello a from [bc]$/);
  });

  it('exports its four entry points and nothing else', () => {
    write('imports.mjs', `const tryImport = (name) => import(name).then((m) => Object.keys(m).length, (e) => e.code);
console.log(JSON.stringify(await Promise.all(['shoal', 'shoal/sim', 'shoal/real', 'shoal/testing', 'shoal/dist/core/index.js', 'shoal/core/public.ts', 'shoal/bin/shoal.js'].map(tryImport))));
`);
    const [core, sim, real, testing, ...deep] = JSON.parse(sh('node', ['imports.mjs'], project).stdout) as (number | string)[];
    for (const exported of [core, sim, real, testing]) expect(exported).toBeGreaterThan(3);
    expect(deep).toEqual(['ERR_PACKAGE_PATH_NOT_EXPORTED', 'ERR_PACKAGE_PATH_NOT_EXPORTED', 'ERR_PACKAGE_PATH_NOT_EXPORTED']);
  });

  it('`npx shoal run` runs a scenario that places the project\'s own apps, .mjs and .ts', () => {
    write('typed-app.ts', `import { defineApp, type AppNode } from 'shoal';

interface Config { readonly greeting: string }

export default defineApp<Config>({
  name: 'typed',
  services: [],
  parseConfig: (raw) => ({ greeting: String((raw as Partial<Config>).greeting ?? 'hi') }),
  start(node: AppNode<Config>) {
    node.report('greeting', node.config.greeting + ' from ' + node.name);
  },
});
`);
    write('scenario.yaml', `name: greeter-partition
seed: 3
duration: 30s
cluster:
  nodes: [a, b, c, d]
  preset: local
  tags: { a: { role: x }, b: { role: x }, c: { role: x }, d: { role: y } }
  apps:
    - { module: ./app.mjs, on: role=x }
    - { module: ./typed-app.ts, on: role=y, config: { greeting: hello } }
faults:
  - { at: 5s, partition: [[a], [b, c, d]] }
  - { at: 15s, heal: true }
expect:
  - converge-within: { after: 15s, within: 10s }
`);
    const report = JSON.parse(sh('npx', ['shoal', 'run', 'scenario.yaml', '--json'], project).stdout) as {
      ok: boolean;
      reproduce: string;
      apps: Record<string, Record<string, Record<string, unknown>>>;
    };
    expect(report.ok).toBe(true);
    expect(report.reproduce).toBe('npx shoal run scenario.yaml --seed 3');
    for (const n of ['a', 'b', 'c']) expect(Object.keys(report.apps[n]!), n).toEqual(['greeter']);
    expect(report.apps.a!.greeter!.members).toBe(4);
    expect(report.apps.d).toEqual({ typed: { greeting: 'hello from d' } });
    expect(sh('npx', ['shoal', 'run', 'scenario.yaml', '--seed', '4', '--json'], project).stdout).toContain('"ok":true');
  });

  it('runs the README\'s "Use shoal in your project" app and scenario as written', () => {
    const readme = readFileSync(join(repo, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Use shoal in your project'), readme.indexOf('## Layout'));
    const fenced = (lang: string) => [...section.matchAll(new RegExp(`\`\`\`${lang}\\n([\\s\\S]*?)\`\`\``, 'g'))].map((m) => m[1]!);
    const [install, run] = fenced('sh');
    expect(install).toContain('npm install /tmp/shoal-');
    expect(run).toMatch(/^npx shoal run scenario\.yaml\b/);
    const dir = join(project, 'readme');
    mkdirSync(dir);
    writeFileSync(join(dir, 'app.mjs'), fenced('js')[0]!);
    writeFileSync(join(dir, 'scenario.yaml'), fenced('yaml')[0]!);
    const output = sh('npx', ['shoal', 'run', 'scenario.yaml'], dir).stdout;
    expect(output).toMatch(/^scenario greeter \(sim\), seed 1: PASS/);
    for (const n of ['a', 'b', 'c']) expect(output).toContain(`${n}: greeter members=3`);
  });

  it('type-checks a TypeScript project against the shipped types (strict, no skipLibCheck, no @types of its own)', async () => {
    const result = await typecheck;
    expect(result.stdout + result.stderr).toBe('');
    expect(result.status).toBe(0);
    const consumer = JSON.parse(readFileSync(join(project, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    expect(Object.keys(consumer.dependencies).sort()).toEqual(['shoal', 'typescript']);
  });
});
