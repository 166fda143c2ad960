import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AllCircuitsOpenError, NoWorkerError, ShedError, WorkerLostError } from '../../core/cluster/index.ts';
import { RpcError, type RpcClient, type StatusName } from '../../core/rpc/index.ts';
import { AttemptTracker, failureType } from '../../sim/hosts/call-outcome.ts';
import { loadScenarioApps } from '../../scenarios/apps.ts';
import { pairOperations, parseHistory, type HistoryOp } from '../../scenarios/check/index.ts';
import { runChecker } from '../../scenarios/checkers.ts';
import { HistoryRecorder, type RunHistory } from '../../scenarios/history.ts';
import { parseScenario } from '../../scenarios/load.ts';
import { formatReport } from '../../scenarios/report.ts';
import { runScenario, type RunReport } from '../../scenarios/runner.ts';

const fixtures = resolve('tests/fixtures/apps');
const dir = mkdtempSync(join(tmpdir(), 'shoal-history-'));
const shoal = (...args: string[]) => spawnSync(process.execPath, ['bin/shoal.js', ...args], { encoding: 'utf8', timeout: 120_000 });

/**
 * A scenario over one of the register fixtures: the register on `registers` of three
 * members, three client processes at 60 calls/s in all (unless `workload` says otherwise),
 * 10-20 ms links so calls overlap, and `extra` YAML (faults, expectations).
 */
function registerScenario(options: { name: string; module?: string; registers?: string[]; workload?: string; extra?: string }): string {
  const registers = options.registers ?? ['n1'];
  return [
    `name: ${options.name}`,
    'seed: 3',
    'duration: 12s',
    'cluster:',
    '  size: 3',
    `  tags: { ${registers.map((n) => `${n}: { role: register }`).join(', ')} }`,
    '  apps:',
    `    - module: ${join(fixtures, options.module ?? 'register.ts')}`,
    '      on: role=register',
    'network: { latency: { kind: uniform, minMs: 10, maxMs: 20 } }',
    `workload: { method: register.v1/read, deadline: 500ms, ${options.workload ?? 'rate: 60, clients: 3'} }`,
    options.extra ?? '',
  ].join('\n');
}

async function run(text: string, name: string): Promise<{ report: RunReport; history: RunHistory }> {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, text);
  const scenario = parseScenario(text, file);
  let history: RunHistory | undefined;
  const report = await runScenario(scenario, { apps: await loadScenarioApps(scenario, file), onHistory: (h) => (history = h) });
  return { report, history: history! };
}

/** Checks what a history must be, the way a reader would: every completion follows its own process's invoke, one outstanding call per process. */
function expectWellFormed(events: readonly HistoryOp[]): void {
  const open = new Map<number | string, HistoryOp>();
  events.forEach((event, index) => {
    expect(event.index).toBe(index);
    const invoke = open.get(event.process);
    if (event.type === 'invoke') {
      expect(invoke, `event ${index}: process ${event.process} invokes with a call outstanding`).toBeUndefined();
      open.set(event.process, event);
      return;
    }
    expect(invoke, `event ${index}: a ${event.type} of process ${event.process} without its invoke`).toBeDefined();
    expect([event.f, event.method]).toEqual([invoke!.f, invoke!.method]);
    expect(event.time).toBeGreaterThanOrEqual(invoke!.time);
    open.delete(event.process);
  });
  // The checker's own pairing agrees.
  expect(() => pairOperations(events)).not.toThrow();
}

/** Largest number of calls outstanding at once. */
function concurrency(events: readonly HistoryOp[]): number {
  let open = 0;
  let max = 0;
  for (const e of events) {
    open += e.type === 'invoke' ? 1 : -1;
    max = Math.max(max, open);
  }
  return max;
}

describe('what a call\'s end says about its effect', () => {
  const processed = (code: StatusName) => new RpcError(code, 'attempt failed after the request was sent');
  it.each([
    ['refused before dispatch (unprocessed)', new RpcError('UNAVAILABLE', 'draining', { unprocessed: true }), false, 'fail'],
    ['no worker to send it to', new NoWorkerError('role=kv'), false, 'fail'],
    ['every circuit open', new AllCircuitsOpenError('role=kv', 100), false, 'fail'],
    ['shed by admission', new ShedError('queue-full', 'the queue is full'), false, 'fail'],
    ['refused by the handler (FAILED_PRECONDITION)', processed('FAILED_PRECONDITION'), false, 'fail'],
    ['refused by the handler (INVALID_ARGUMENT)', processed('INVALID_ARGUMENT'), false, 'fail'],
    ['deadline passed after sending', processed('DEADLINE_EXCEEDED'), false, 'info'],
    ['connection lost after sending', processed('UNAVAILABLE'), false, 'info'],
    ['worker failed while it ran', new WorkerLostError('n2'), false, 'info'],
    ['handler threw', processed('UNKNOWN'), false, 'info'],
    ['aborted', processed('ABORTED'), false, 'info'],
    ['resource exhausted inside the handler', processed('RESOURCE_EXHAUSTED'), false, 'info'],
    ['cancelled after sending', processed('CANCELLED'), false, 'info'],
    ['not an RpcError', new Error('boom'), false, 'info'],
    ['no worker left after an attempt that may have run', new NoWorkerError('role=kv'), true, 'info'],
    ['a refusal after an attempt that may have run', processed('FAILED_PRECONDITION'), true, 'info'],
  ] as const)('%s', (_what, error, mayHaveRun, type) => {
    expect(failureType(error, mayHaveRun)).toBe(type);
  });

  it('a retried call whose first attempt may have run is unknown, whatever its last error', async () => {
    const tracker = new AttemptTracker();
    const answers: Promise<unknown>[] = [Promise.reject(new RpcError('UNAVAILABLE', 'connection lost')), Promise.reject(new RpcError('UNAVAILABLE', 'draining', { unprocessed: true }))];
    const rpc = { service: () => ({ read: () => answers.shift() }) } as unknown as RpcClient;
    const stub = tracker.wrap(rpc).service({ name: 'r', methods: { read: { kind: 'unary' } } } as never, 'n1:7946') as unknown as { read(r: unknown): Promise<unknown> };
    const request = { key: 'a' };
    const retried = tracker.begin(request);
    const other = tracker.begin({ key: 'a' });
    await expect(stub.read(request)).rejects.toThrow('connection lost');
    await expect(stub.read(request)).rejects.toThrow('draining');
    expect(retried.mayHaveRun).toBe(true);
    // Another call's attempts are its own, even with an equal request.
    expect(other.mayHaveRun).toBe(false);
    expect(failureType(new NoWorkerError('x'), retried.mayHaveRun)).toBe('info');
  });

  it('an attempt that ends after its call did (a lost hedge) says nothing about the calls made since', async () => {
    const tracker = new AttemptTracker();
    let lose: (error: unknown) => void = () => {};
    const rpc = { service: () => ({ read: () => new Promise((_resolve, reject) => (lose = reject)) }) } as unknown as RpcClient;
    const stub = tracker.wrap(rpc).service({ name: 'r', methods: { read: { kind: 'unary' } } } as never, 'n1:7946') as unknown as { read(r: unknown): Promise<unknown> };
    const first = { key: 'a' };
    const ended = tracker.begin(first);
    const late = stub.read(first);
    tracker.end(ended, first);
    const next = tracker.begin({ key: 'b' });
    lose(new RpcError('CANCELLED', 'the hedge lost'));
    await expect(late).rejects.toThrow('the hedge lost');
    expect(next.mayHaveRun).toBe(false);
  });
});

describe('operation histories of a scenario\'s workload', () => {
  it('records three client processes\' calls to a register: well formed, concurrent, counted, linearizable', async () => {
    const { report, history } = await run(registerScenario({ name: 'register', extra: 'expect:\n  - linearizable: { model: cas-register }\n' }), 'register');
    const why = `${report.reproduce}\n${formatReport(report)}`;
    expectWellFormed(history.events);
    expect(new Set(history.events.map((e) => e.process)), why).toEqual(new Set([0, 1, 2]));
    expect(concurrency(history.events), why).toBeGreaterThanOrEqual(2);
    expect(report.history, why).toEqual({ ...history.counts, processes: 3, dropped: 0 });
    expect(history.counts.invoke, why).toBe(report.rpc!.issued);
    expect(history.counts.ok, why).toBe(report.rpc!.succeeded);
    expect(history.counts.ok + history.counts.fail + history.counts.info, why).toBe(history.counts.invoke);
    // A cas that found another value was refused by the handler: it certainly did not happen.
    expect(history.events.some((e) => e.type === 'fail' && e.f === 'cas' && e.status === 'FAILED_PRECONDITION'), why).toBe(true);
    // A read's invoke carries null, its ok what it read; a write carries what it wrote.
    const read = history.events.find((e) => e.type === 'ok' && e.f === 'read' && e.value !== null)!;
    expect(history.events.some((e) => e.f === 'write' && e.type === 'invoke' && e.value === read.value), why).toBe(true);
    expect(report.expectations.map((e) => [e.name, e.ok]), why).toEqual([['the history is linearizable (cas-register)', true]]);
    expect(formatReport(report)).toMatch(new RegExp(`history: ${history.counts.invoke} operations by 3 client processes: invoke ${history.counts.invoke}, ok ${history.counts.ok}, fail ${history.counts.fail}, info ${history.counts.info}`));
  });

  it('fails `linearizable` for a register that answers from a stale copy, with the operations that cannot be ordered', async () => {
    const text = registerScenario({ name: 'stale', module: 'stale-register.ts', registers: ['n1', 'n2'], extra: 'expect:\n  - linearizable: { model: cas-register }\n' });
    const { report } = await run(text, 'stale');
    const result = report.expectations[0]!;
    expect(result.ok, report.reproduce).toBe(false);
    expect(result.detail).toMatch(/^NOT linearizable: process \S+'s read → \S+ .* cannot be linearized/);
    expect(result.evidence!.length).toBeGreaterThanOrEqual(2);
    for (const line of result.evidence!) expect(line).toMatch(/^process \d+: (read saw \S+|write \S+|cas \S+ → \S+|read), invoked at [\d.]+ ms, (answered|gave up) at [\d.]+ ms|never answered/);
    const text2 = formatReport(report);
    expect(text2).toContain('✗ the history is linearizable (cas-register)');
    expect(text2).toContain(`        ${result.evidence![0]}`);
    expect(report.ok).toBe(false);
  });

  it('runs a user\'s checkers, synchronous or not, and shows their evidence: passing without faults, failing under a partition', async () => {
    const checks = `expect:\n  - check: ${join(fixtures, 'check-no-unknown.ts')}\n  - check: ${join(fixtures, 'check-reads-written.ts')}\n`;
    const calm = await run(registerScenario({ name: 'calm', extra: checks }), 'calm');
    expect(calm.report.expectations.map((e) => e.ok), formatReport(calm.report)).toEqual([true, true]);
    expect(calm.report.expectations[1]!.evidence![0]).toMatch(/^\{"reads":\d+,"strange":\[\]\}$/);

    const partition = 'faults:\n  - { at: 3s, partition: [[client], [n1, n2, n3]] }\n  - { at: 6s, heal: true }\n';
    const cut = await run(registerScenario({ name: 'cut', extra: `${partition}${checks}` }), 'cut');
    const [noUnknown, readsWritten] = cut.report.expectations;
    expect(noUnknown!.ok, formatReport(cut.report)).toBe(false);
    expect(noUnknown!.evidence!.length).toBeGreaterThan(0);
    for (const line of noUnknown!.evidence!) expect(line).toMatch(/^process \d+: register\.v1\/\w+ (DEADLINE_EXCEEDED|UNAVAILABLE) at \d+\.\d ms$/);
    expect(readsWritten!.ok).toBe(true);
  });

  it('records a call whose deadline passed under a partition as info, never fail; its process goes on under a fresh id', async () => {
    const partition = 'faults:\n  - { at: 3s, partition: [[client], [n1, n2, n3]] }\n  - { at: 6s, heal: true }\nexpect:\n  - linearizable: { model: cas-register }\n';
    const { report, history } = await run(registerScenario({ name: 'partition', extra: partition }), 'partition');
    const why = `${report.reproduce}\n${formatReport(report)}`;
    expectWellFormed(history.events);
    const timedOut = history.events.filter((e) => e.status === 'DEADLINE_EXCEEDED');
    expect(timedOut.length, why).toBeGreaterThan(0);
    for (const e of timedOut) {
      expect(e.type, why).toBe('info');
      expect(e.time, why).toBeGreaterThan(3_000);
      expect(e.time, why).toBeLessThan(6_600);
    }
    // Refused for want of a reachable worker, before anything was sent: certainly not done.
    expect(history.events.some((e) => e.type === 'fail' && e.status === 'UNAVAILABLE' && e.time > 3_000 && e.time < 6_600), why).toBe(true);
    // No process invokes again after an unknown outcome: the next call is a new process.
    const unknownBy = new Set(history.events.filter((e) => e.type === 'info').map((e) => e.process));
    for (const process of unknownBy) {
      const own = history.events.filter((e) => e.process === process);
      expect(own[own.length - 1]!.type, `process ${process}`).toBe('info');
    }
    expect(report.history!.processes, why).toBe(3 + unknownBy.size);
    expect(report.expectations[0]!.ok, why).toBe(true);
  });

  it('ends the calls outstanding on a crashed client host as unknown (CLIENT_LOST)', async () => {
    const crash = 'faults:\n  - { at: 3s, crash: client }\n  - { at: 4s, restart: client }\n';
    const { report, history } = await run(registerScenario({ name: 'client-crash', workload: 'clients: 3, rate: 200', extra: crash }), 'client-crash');
    const why = `${report.reproduce}\n${formatReport(report)}`;
    expectWellFormed(history.events);
    const lost = history.events.filter((e) => e.status === 'CLIENT_LOST');
    expect(lost.length, why).toBeGreaterThan(0);
    for (const e of lost) expect([e.type, e.time >= 3_000 && e.time < 4_200], why).toEqual(['info', true]);
    // The workload goes on after the restart.
    expect(history.events.some((e) => e.type === 'ok' && e.time > 5_000), why).toBe(true);
  });

  it('an open workload (no `clients`) gives each outstanding call a process of its own', async () => {
    const { report, history } = await run(registerScenario({ name: 'open', workload: 'rate: 200' }), 'open');
    expectWellFormed(history.events);
    expect(report.rpc!.busy, formatReport(report)).toBe(0);
    expect(report.history!.processes).toBe(concurrency(history.events));
    expect(concurrency(history.events)).toBeGreaterThan(1);
  });
});

describe('bounds and refusals', () => {
  const write = (process: number, value: number): Parameters<HistoryRecorder['invoked']>[0] => ({ process, method: 'register.v1/write', request: { value } });
  const mapping = { module: 'register.ts', operationOf: ({ request }: { request: unknown }) => ({ f: 'write' as const, value: (request as { value: number }).value }) };

  it('a full history keeps room for its completions, counts what it drops, and no checker gives a verdict on it', async () => {
    let now = 0;
    const recorder = new HistoryRecorder(() => now++, () => mapping, 4);
    const calls = [write(0, 1), write(1, 2), write(2, 3)];
    for (const call of calls) recorder.invoked(call);
    for (const call of calls) recorder.ended(call, { type: 'ok', response: {} });
    const history = recorder.history;
    expect(history.events.map((e) => [e.process, e.type])).toEqual([[0, 'invoke'], [1, 'invoke'], [0, 'ok'], [1, 'ok']]);
    expect(history.dropped).toBe(1);
    const run = { scenario: parseScenario('name: s\nduration: 1s\ncluster: { size: 1 }\n'), history, events: [], faults: [], checkers: new Map() };
    const result = await runChecker({ kind: 'linearizable', linearizable: { model: 'register' } }, run);
    expect(result.ok).toBe(false);
    expect(result.detail).toMatch(/^unknown: the history was truncated at 1000000 events \(1 call not recorded\)/);
  });

  it('a user\'s checker of a scenario without a workload sees an empty history and the membership events', async () => {
    const text = `name: members\nduration: 3s\ncluster: { size: 3 }\nexpect:\n  - check: ${join(fixtures, 'check-no-unknown.ts')}\n`;
    const { report } = await run(text, 'members');
    expect(report.history).toBeUndefined();
    expect(report.expectations[0]!.ok).toBe(true);
    expect(report.expectations[0]!.detail).toMatch(/^passed on 0 history events and [1-9]\d* membership events$/);
  });

  it('an `operation` export that answers nonsense makes the run bad input, naming the module', () => {
    const recorder = new HistoryRecorder(() => 0, () => ({ module: 'cluster.apps[0] bad.ts', operationOf: () => ({ f: 'append', value: 1 }) as never }));
    recorder.invoked(write(0, 1));
    expect(recorder.history.events).toEqual([]);
    expect(recorder.error?.message).toBe('cluster.apps[0] bad.ts: operation(register.v1/write at its invoke) returned f "append": f is read, write or cas');
  });

  it('shoal run --history writes the history as .jsonl, and the report counts it', () => {
    const file = join(dir, 'cli.yaml');
    writeFileSync(file, registerScenario({ name: 'cli', extra: 'expect:\n  - linearizable: { model: cas-register }\n' }));
    const out = join(dir, 'cli.jsonl');
    const r = shoal('run', file, '--history', out, '--json');
    expect(r.status, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as RunReport;
    const events = parseHistory(readFileSync(out, 'utf8'), out);
    expect(events.length).toBe(report.history!.invoke + report.history!.ok + report.history!.fail + report.history!.info);
    expect(events.filter((e) => e.type === 'invoke').length).toBe(report.history!.invoke);
    expect(report.expectations[0]).toMatchObject({ name: 'the history is linearizable (cas-register)', ok: true });
  });

  it('refuses what cannot be done with exit 2 and one line: --history in real mode or without a workload, an unwritable path, a checker that cannot load', () => {
    const file = join(dir, 'refusals.yaml');
    writeFileSync(file, registerScenario({ name: 'refusals' }));
    const real = shoal('run', file, '--mode', 'real', '--history', join(dir, 'real.jsonl'));
    expect([real.status, real.stderr.trim()]).toEqual([2, 'shoal run: --history records the workload\'s calls, and --mode real does not run workloads yet: record the history in the simulator (without --mode real)']);
    const unwritable = shoal('run', file, '--history', join(dir, 'missing', 'h.jsonl'));
    expect(unwritable.status).toBe(2);
    expect(unwritable.stderr).toMatch(/^shoal run: --history .*h\.jsonl: cannot write/);
    const quiet = join(dir, 'quiet.yaml');
    writeFileSync(quiet, 'name: quiet\nduration: 2s\ncluster: { size: 2 }\n');
    expect(shoal('run', quiet, '--history', join(dir, 'q.jsonl')).stderr.trim()).toBe('shoal run: --history records the workload\'s calls, and this scenario has no workload');
    const missing = join(dir, 'missing-check.yaml');
    writeFileSync(missing, registerScenario({ name: 'missing-check', extra: 'expect:\n  - check: ./nowhere.ts\n' }));
    const notFound = shoal('run', missing);
    expect([notFound.status, notFound.stderr.trim().split('\n').length]).toEqual([2, 1]);
    expect(notFound.stderr).toMatch(/^shoal run: expect\[0\] check .*nowhere\.ts: cannot load the checker: no such file/);
    const notAFunction = join(dir, 'not-a-checker.yaml');
    writeFileSync(notAFunction, registerScenario({ name: 'not-a-checker', extra: `expect:\n  - check: ${join(fixtures, 'not-an-app.ts')}\n` }));
    const refused = shoal('run', notAFunction);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toMatch(/^shoal run: expect\[0\] check .*not-an-app\.ts: the default export must be a function/);
  });
});
