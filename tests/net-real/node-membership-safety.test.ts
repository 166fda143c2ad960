import { createSocket, type Socket } from 'node:dgram';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAddress, type Connection } from '../../core/index.ts';
import { MessageType, PacketBuilder, WireState, decodePacket, encodeStateFrame, type StateEntry, type StateSeal, type SwimMessage } from '../../core/swim/index.ts';
import { Keyring, QuicTransport, keyringStateSeal } from '../../net-real/index.ts';
import { makeCertDir, type CertDir } from './quic-harness.ts';
import { sleep, startNode, status, waitFor, type NodeProcess } from './node-harness.ts';

/**
 * Issue 11, findings 1, 2, 6 and 9 against real `shoal node` processes (mTLS and a gossip
 * key): an unrefutable incarnation, push-pull from a caller without the key, a replayed
 * gossip packet and a node with the wrong key all leave the cluster as it was.
 */
const poison = Number.MAX_SAFE_INTEGER;
const names = ['a', 'b', 'c'];
const nodes = new Map<string, NodeProcess>();
let certs: CertDir;
let keyFile = '';
let otherKeyFile = '';
const key = Buffer.alloc(32, 0x21);
let udp: Socket;

interface FullStatus {
  ready: boolean;
  node: { incarnation: number };
  members: { name: string; state: string; incarnation: number }[];
  stats: { incarnationsRejected: number; pushPullRejected: number; refutations: number };
  gossip?: { refused: Record<string, number> };
}

async function full(node: NodeProcess): Promise<FullStatus> {
  return (await status(node)) as unknown as FullStatus;
}

function tlsArgs(name: string): string[] {
  const dir = certs.dir;
  return ['--cert', join(dir, `${name}.pem`), '--key', join(dir, `${name}.key`), '--ca', join(dir, 'ca.pem'), '--mtls'];
}

async function launch(name: string, extra: string[], keyPath = keyFile): Promise<NodeProcess> {
  const node = await startNode(name, ['--bind', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--preset', 'local', '--rpc-probe-ms', '0',
    ...tlsArgs(name), '--gossip-key-file', keyPath, ...extra]);
  nodes.set(name, node);
  return node;
}

async function views(): Promise<string> {
  const lines = await Promise.all([...nodes.values()].map(async (p) => {
    const s = await full(p).catch(() => undefined);
    return `${p.name}: ${s === undefined ? 'no answer' : s.members.map((m) => `${m.name}=${m.state}/${m.incarnation}`).join(' ')}`;
  }));
  return lines.join('\n');
}

/** Every one of a, b, c sees the three alive. */
async function formed(): Promise<boolean> {
  const all = await Promise.all(names.map((n) => full(nodes.get(n)!).catch(() => undefined)));
  return all.every((s) => s !== undefined && names.every((n) => s.members.find((m) => m.name === n)?.state === 'alive'));
}

function packet(...messages: SwimMessage[]): Uint8Array {
  const p = new PacketBuilder(1_200).reset();
  for (const m of messages) p.add(m);
  return p.view().slice();
}

function sendTo(node: NodeProcess, bytes: Uint8Array): void {
  const { host, port } = parseAddress(node.address);
  udp.send(bytes, port, host);
}

beforeAll(async () => {
  certs = makeCertDir([...names, 'd', 'client']);
  keyFile = join(certs.dir, 'gossip.key');
  otherKeyFile = join(certs.dir, 'other-gossip.key');
  writeFileSync(keyFile, `${key.toString('base64')}\n`);
  writeFileSync(otherKeyFile, `${Buffer.alloc(32, 0x42).toString('base64')}\n`);
  udp = createSocket('udp4');
  await new Promise<void>((resolve) => udp.bind(0, '127.0.0.1', resolve));
  const a = await launch('a', []);
  await Promise.all(['b', 'c'].map((n) => launch(n, ['--seeds', a.address])));
  await waitFor(formed, 15_000, views);
});

afterAll(() => {
  for (const p of nodes.values()) if (p.child.exitCode === null) p.child.kill('SIGKILL');
  udp?.close();
  certs?.remove();
});

describe('membership a single message cannot poison (real nodes, mTLS + gossip key)', () => {
  it('finding 1: an authenticated "dead c" at incarnation 2^53−1 is refused and counted; c stays alive everywhere', async () => {
    const ring = new Keyring([key]);
    for (const target of ['a', 'b']) sendTo(nodes.get(target)!, ring.seal(packet({ type: MessageType.Dead, name: 'c', incarnation: poison, from: 'a' })));
    await waitFor(async () => (await full(nodes.get('a')!)).stats.incarnationsRejected >= 1 && (await full(nodes.get('b')!)).stats.incarnationsRejected >= 1, 5_000, views);
    await sleep(3_000);
    expect(await formed(), await views()).toBe(true);
    expect((await full(nodes.get('c')!)).node.incarnation).toBeLessThan(2 ** 32);
  });

  it('finding 1: the same poison in a sealed push-pull state is refused; c stays alive', async () => {
    const transport = await QuicTransport.start({ bind: '127.0.0.1:0', tls: certs.tls('client', true), idleTimeoutMs: 2_000 });
    try {
      const seal = keyringStateSeal(new Keyring([key]));
      const before = (await full(nodes.get('a')!)).stats.pushPullRejected;
      writeState(transport.streams.connect(nodes.get('a')!.address), [{ name: 'c', address: nodes.get('c')!.address, incarnation: poison, state: WireState.Suspect, tags: {} }], seal);
      await waitFor(async () => (await full(nodes.get('a')!)).stats.pushPullRejected > before, 5_000, views);
      await sleep(2_000);
      expect(await formed(), await views()).toBe(true);
    } finally {
      await transport.close();
    }
  });

  it('finding 2: a caller with a cluster certificate but no gossip key can neither mark a member left nor add one; with the key it can (control)', async () => {
    const transport = await QuicTransport.start({ bind: '127.0.0.1:0', tls: certs.tls('client', true), idleTimeoutMs: 2_000 });
    try {
      const a = nodes.get('a')!;
      const before = (await full(a)).stats.pushPullRejected;
      const entries: StateEntry[] = [
        { name: 'b', address: nodes.get('b')!.address, incarnation: 1_000, state: WireState.Left, tags: {} },
        { name: 'ghost', address: '127.0.0.1:9', incarnation: 0, state: WireState.Alive, tags: { role: 'worker' } },
      ];
      writeState(transport.streams.connect(a.address), entries, undefined);
      await waitFor(async () => (await full(a)).stats.pushPullRejected > before, 5_000, views);
      let s = await full(a);
      expect(s.members.find((m) => m.name === 'b')?.state).toBe('alive');
      expect(s.members.find((m) => m.name === 'ghost')).toBeUndefined();
      // Control: sealed with the key, the phantom is taken (so the refusal above is the key's doing).
      writeState(transport.streams.connect(a.address), [entries[1]!], keyringStateSeal(new Keyring([key])));
      await waitFor(async () => (await full(a)).members.some((m) => m.name === 'ghost'), 5_000, views);
      s = await full(a);
      expect(s.members.find((m) => m.name === 'b')?.state).toBe('alive');
    } finally {
      await transport.close();
    }
  });

  it('finding 4: 2 000 phantom members in one authenticated push-pull: at most pushPullNewMembersMax are admitted, the rest counted, and the real members stay alive everywhere', async () => {
    const transport = await QuicTransport.start({ bind: '127.0.0.1:0', tls: certs.tls('client', true), idleTimeoutMs: 2_000 });
    try {
      const b = nodes.get('b')!;
      const phantoms: StateEntry[] = Array.from({ length: 2_000 }, (_, i) => ({
        name: `phantom${i}`, address: `127.0.0.1:${20_000 + i}`, incarnation: 0, state: WireState.Alive, tags: { role: 'worker' },
      }));
      writeState(transport.streams.connect(b.address), phantoms, keyringStateSeal(new Keyring([key])));
      await waitFor(async () => ((await full(b)).stats as unknown as Record<string, number>).membersRefusedPerPushPull! > 0, 5_000, views);
      const s = await full(b);
      const admitted = s.members.filter((m) => m.name.startsWith('phantom')).length;
      expect(admitted).toBeLessThanOrEqual(512);
      expect((s.stats as unknown as Record<string, number>).membersRefusedPerPushPull).toBe(2_000 - admitted);
      // The real members are still seen alive by everyone.
      expect(await formed(), await views()).toBe(true);
    } finally {
      await transport.close();
    }
  });

  it('finding 9: a replayed gossip packet is refused (the original ping is acked, its replay is not)', async () => {
    const ring = new Keyring([key]);
    const a = nodes.get('a')!;
    const acks: number[] = [];
    const listener = (msg: Buffer) => {
      const payload = ring.open(msg);
      if (payload === undefined) return;
      for (const m of decodePacket(payload)) if (m.type === MessageType.Ack) acks.push(m.seq);
    };
    udp.on('message', listener);
    try {
      const ping = ring.seal(packet({ type: MessageType.Ping, seq: 424_242, target: 'a' }));
      sendTo(a, ping);
      await waitFor(async () => acks.includes(424_242), 3_000, () => `acks ${acks.join(',')}`);
      acks.length = 0;
      sendTo(a, ping);
      await sleep(1_500);
      expect(acks).not.toContain(424_242);
      expect((await full(a)).gossip?.refused.replayed).toBeGreaterThanOrEqual(1);
    } finally {
      udp.off('message', listener);
    }
  });

  it('finding 6: a node with the wrong gossip key is told nothing, changes nothing, and is not ready', async () => {
    const before = await Promise.all(names.map(async (n) => (await full(nodes.get(n)!)).node.incarnation));
    const refutationsBefore = await Promise.all(names.map(async (n) => (await full(nodes.get(n)!)).stats.refutations));
    const d = await launch('d', ['--seeds', nodes.get('a')!.address], otherKeyFile);
    await sleep(8_000);
    const ds = await full(d);
    expect(ds.members.map((m) => m.name)).toEqual(['d']);
    expect(ds.ready).toBe(false);
    const ready = await fetch(`http://${d.admin}/ready`);
    expect(ready.status).toBe(503);
    expect(await ready.text()).toMatch(/authenticate/);
    for (const [i, n] of names.entries()) {
      const s = await full(nodes.get(n)!);
      expect(s.node.incarnation, `${n} incarnation`).toBe(before[i]);
      expect(s.stats.refutations, `${n} refutations`).toBe(refutationsBefore[i]);
      expect(s.members.some((m) => m.name === 'd'), `${n} knows d`).toBe(false);
    }
    d.child.kill('SIGKILL');
    nodes.delete('d');
  });
});

function writeState(connection: Connection, members: StateEntry[], seal: StateSeal | undefined): void {
  const stream = connection.openStream();
  stream.write(encodeStateFrame({ join: false, members }, 1 << 20, seal));
  stream.end();
}
