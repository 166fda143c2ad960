import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DirectorService, WorkerService } from '../../examples/director-worker/index.ts';
import { NodeFlagError, methodDefinition, parseCallArgs } from '../../net-real/node/index.ts';
import { runShoal, startNode, status, waitFor, type NodeProcess } from './node-harness.ts';

describe('shoal call arguments', () => {
  it.each([
    [[], {}, /want HOST:PORT SERVICE\/METHOD/],
    [['nohost', 'a/b'], { 'dev-certs': '/d' }, /target/],
    [['127.0.0.1:1', 'nomethod'], { 'dev-certs': '/d' }, /SERVICE\/METHOD/],
    [['127.0.0.1:1', 'bad name/m'], { 'dev-certs': '/d' }, /method: service name/],
    [['127.0.0.1:1', 'a/b', '{bad'], { 'dev-certs': '/d' }, /request is not JSON/],
    [['127.0.0.1:1', 'a/b', '{}', 'extra'], { 'dev-certs': '/d' }, /unexpected argument/],
    [['127.0.0.1:1', 'a/b'], {}, /TLS is required/],
    [['127.0.0.1:1', 'a/b'], { cert: '/c' }, /go together/],
    [['127.0.0.1:1', 'a/b'], { 'dev-certs': '/d', count: '0' }, /--count must be an integer within 1\.\./],
    [['127.0.0.1:1', 'a/b'], { 'dev-certs': '/d', concurrency: '4' }, /--concurrency only applies with --count/],
    [['127.0.0.1:1', 'a/b'], { 'dev-certs': '/d', timeout: 'soon' }, /--timeout/],
    [['127.0.0.1:1', 'a/b'], { 'dev-certs': '/d', bind: 'x' }, /--bind/],
  ])('rejects %j %j', (positionals, flags, message) => {
    expect(() => parseCallArgs(flags, positionals)).toThrow(message);
    expect(() => parseCallArgs(flags, positionals)).toThrow(NodeFlagError);
  });

  it('accepts a call and picks the known definition (stream kinds included) or a unary stand-in', () => {
    const config = parseCallArgs({ 'dev-certs': '/d', count: '10', concurrency: '2' }, ['10.0.0.5:7946', 'cluster.worker.v1/tokens', '{"count":3}']);
    expect(config).toMatchObject({ service: 'cluster.worker.v1', method: 'tokens', request: { count: 3 }, count: 10, concurrency: 2, timeoutMs: 5_000, bind: '0.0.0.0:0' });
    expect(parseCallArgs({ 'dev-certs': '/d' }, ['127.0.0.1:7946', 'a.b/c']).bind).toBe('127.0.0.1:0');
    expect(methodDefinition('cluster.worker.v1', 'tokens')).toBe(WorkerService);
    expect(methodDefinition('cluster.director.v1', 'assign')).toBe(DirectorService);
    expect(methodDefinition('my.svc.v1', 'go').methods.go!.kind).toBe('unary');
  });
});

// One real node that is both a worker and a director, called by `shoal call` processes.
let certDir = '';
let node: NodeProcess;

beforeAll(async () => {
  certDir = mkdtempSync(join(tmpdir(), 'shoal-call-'));
  node = await startNode('solo', ['--bind', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--dev-certs', certDir, '--preset', 'local',
    '--tags', 'role=worker', '--director', '--strategy', 'random', '--rpc-probe-ms', '0']);
  await waitFor(async () => (await status(node))?.ready === true, 10_000, () => node.lines.join('\n'));
}, 30_000);

afterAll(() => {
  if (node !== undefined && node.child.exitCode === null) node.child.kill('SIGKILL');
  if (certDir !== '') rmSync(certDir, { recursive: true, force: true });
});

async function call(args: readonly string[]): Promise<{ code: number | string; lines: string[] }> {
  const run = runShoal(['call', node.address, ...args, '--dev-certs', certDir]);
  return { code: await run.exited, lines: run.lines };
}

describe('shoal call against a real node', () => {
  it('prints a unary reply, a server stream line by line, and a --count summary', async () => {
    const assign = await call(['cluster.director.v1/assign', '{}']);
    expect(assign.code, assign.lines.join('\n')).toBe(0);
    expect(JSON.parse(assign.lines[0]!)).toEqual({ name: 'solo', address: node.address });
    const tokens = await call(['cluster.worker.v1/tokens', '{"count":3}']);
    expect(tokens.code).toBe(0);
    expect(tokens.lines.map((l) => JSON.parse(l) as unknown)).toEqual([0, 1, 2].map((i) => ({ i, worker: 'solo' })));
    const many = await call(['cluster.worker.v1/compute', '{"n":3}', '--count', '200', '--concurrency', '8']);
    expect(many.code, many.lines.join('\n')).toBe(0);
    const summary = JSON.parse(many.lines[0]!) as { calls: number; ok: number; outcomes: Record<string, number>; callsPerSec: number; latencyMsP50: number; latencyMsP99: number };
    expect(summary).toMatchObject({ calls: 200, ok: 200, outcomes: { OK: 200 } });
    expect(summary.callsPerSec).toBeGreaterThan(0);
    expect(summary.latencyMsP99).toBeGreaterThanOrEqual(summary.latencyMsP50);
    // The node's /status counted them by method and status.
    const s = await status(node) as unknown as { rpc: { calls: { server: Record<string, Record<string, number>> } } };
    expect(s.rpc.calls.server['cluster.worker.v1/compute']).toEqual({ OK: 200 });
    expect(s.rpc.calls.server['cluster.director.v1/assign']).toEqual({ OK: 1 });
  });

  it('exits 1 with the status code on an RPC error and 2 on bad input', async () => {
    const unknown = await call(['cluster.worker.v1/nope', '{}']);
    expect(unknown.code).toBe(1);
    expect(unknown.lines.join('\n')).toMatch(/error: UNIMPLEMENTED: unknown method cluster\.worker\.v1\/nope/);
    const invalid = await call(['cluster.worker.v1/compute', '{"n":1,"serviceMs":-1}', '--count', '3']);
    expect(invalid.code).toBe(1);
    expect(JSON.parse(invalid.lines[0]!)).toMatchObject({ calls: 3, ok: 0, outcomes: { INVALID_ARGUMENT: 3 } });
    const bad = await call(['cluster.worker.v1/compute', '{nope']);
    expect(bad.code).toBe(2);
    expect(bad.lines.join('\n')).toMatch(/shoal call: request is not JSON/);
  });
});
