import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { ShoalError } from '../core/index.ts';
import type { LinkModel } from '../sim/network.ts';

/**
 * A small lab of Linux network namespaces for `shoal run --mode real`: one namespace per
 * node, each with its own address on a private /24, joined by veth pairs to a bridge in a
 * switch namespace, with one more veth from the host into the switch so the runner can
 * reach every node's admin endpoint. Network faults are applied for real:
 *
 * - partitions, one-way partitions, bridges and isolation: iptables DROP rules in the
 *   receiver's INPUT path (chain `SHOAL_CUT`), per source address, so the host's admin
 *   traffic is never cut;
 * - loss: iptables `statistic --mode random` DROP rules (chain `SHOAL_LOSS`), also on the
 *   receiver's INPUT path, which need no kernel queueing discipline.
 *
 * Drops are made where the packet arrives, not where it leaves: a packet dropped in the
 * sender's OUTPUT path fails its `sendto` with EPERM, which a real network's loss never
 * does (the sender cannot know), and which once crashed every node of a lossy lab run.
 * - latency: `tc netem` on each node's interface, when the kernel has `sch_netem`
 *   (many container and micro-VM kernels do not: then a latency fault is refused with a
 *   clear error rather than silently ignored).
 *
 * Needs root, `ip` (iproute2) and `iptables`. `netnsSupport()` says why not when it cannot.
 */
export class NetnsUnavailableError extends ShoalError {
  override readonly code = 'NETNS_UNAVAILABLE';
}

const run = promisify(execFile);

/** The port every node binds in its namespace (the addresses differ, so they all can). */
export const netnsGossipPort = 7946;
export const netnsAdminPort = 7947;

/** Nodes a lab holds at most: one /24, less the host's address. */
export const netnsNodesMax = 250;

let supportCache: { ok: true } | { ok: false; reason: string } | undefined;

/** Whether this machine lets us build a lab (cached): root, iproute2, iptables, and a namespace we may create. */
export function netnsSupport(): { ok: true } | { ok: false; reason: string } {
  if (supportCache !== undefined) return supportCache;
  const check = (): { ok: true } | { ok: false; reason: string } => {
    if (process.platform !== 'linux') return { ok: false, reason: `network namespaces are a Linux feature (this is ${process.platform})` };
    if (process.getuid?.() !== 0) return { ok: false, reason: 'creating network namespaces needs root' };
    for (const [tool, pkg] of [['ip', 'iproute2'], ['iptables', 'iptables']] as const) {
      if (spawnSync(tool, ['-V']).error !== undefined) return { ok: false, reason: `\`${tool}\` is not installed (apt-get install ${pkg})` };
    }
    const probe = `shoal-probe-${randomBytes(3).toString('hex')}`;
    const made = spawnSync('ip', ['netns', 'add', probe], { encoding: 'utf8' });
    if (made.status !== 0) return { ok: false, reason: `\`ip netns add\` is not permitted here: ${made.stderr.trim()}` };
    try {
      const bridge = spawnSync('ip', ['-n', probe, 'link', 'add', 'br0', 'type', 'bridge'], { encoding: 'utf8' });
      if (bridge.status !== 0) return { ok: false, reason: `this kernel cannot make a bridge: ${bridge.stderr.trim()}` };
      const ipt = spawnSync('ip', ['netns', 'exec', probe, 'iptables', '-N', 'SHOAL_PROBE'], { encoding: 'utf8' });
      if (ipt.status !== 0) return { ok: false, reason: `iptables does not work in a namespace: ${ipt.stderr.trim()}` };
    } finally {
      spawnSync('ip', ['netns', 'del', probe]);
    }
    return { ok: true };
  };
  supportCache = check();
  return supportCache;
}

let netemCache: boolean | undefined;

/** Whether the kernel has `tc netem` (needed for latency; loss and cuts do without it). */
export function netemSupport(): boolean {
  if (netemCache !== undefined) return netemCache;
  if (!netnsSupport().ok) return (netemCache = false);
  const probe = `shoal-probe-${randomBytes(3).toString('hex')}`;
  spawnSync('ip', ['netns', 'add', probe]);
  try {
    netemCache = spawnSync('ip', ['netns', 'exec', probe, 'tc', 'qdisc', 'add', 'dev', 'lo', 'root', 'netem', 'delay', '1ms']).status === 0;
  } finally {
    spawnSync('ip', ['netns', 'del', probe]);
  }
  return netemCache;
}

type Latency = NonNullable<LinkModel['latency']>;

/** netem arguments for a latency model, or why it has no netem form. */
export function netemDelay(latency: Latency): string[] | string {
  switch (latency.kind) {
    case 'constant': return ['delay', `${latency.ms}ms`];
    case 'uniform': return ['delay', `${(latency.minMs + latency.maxMs) / 2}ms`, `${(latency.maxMs - latency.minMs) / 2}ms`];
    case 'normal': return ['delay', `${latency.meanMs}ms`, `${latency.stdDevMs}ms`, 'distribution', 'normal'];
    default: return `netem has no ${latency.kind} delay distribution (use constant, uniform or normal in a real run)`;
  }
}

/** Labs alive in this process, torn down on exit even if the runner did not get to. */
const liveLabs = new Set<NetnsLab>();
process.once('exit', () => {
  for (const lab of liveLabs) lab.destroySync();
});

export class NetnsLab {
  /** node → its address. */
  private readonly addresses = new Map<string, string>();
  /** Directed cuts "from>to". */
  private readonly cuts = new Set<string>();
  /** Loss per directed pair "from>to" (0 removes it). */
  private readonly loss = new Map<string, number>();
  private destroyed = false;

  private constructor(
    readonly id: string,
    readonly nodes: readonly string[],
    readonly prefix: string,
    private readonly hostLink: string,
  ) {
    nodes.forEach((node, i) => this.addresses.set(node, `${prefix}.${i + 1}`));
  }

  /** The address the host (this process) has on the lab's network. */
  get hostAddress(): string {
    return `${this.prefix}.254`;
  }

  /** Builds the lab; throws NetnsUnavailableError (with the reason) where the machine does not allow it. */
  static async create(nodes: readonly string[]): Promise<NetnsLab> {
    const support = netnsSupport();
    if (!support.ok) throw new NetnsUnavailableError(`network namespaces are unavailable: ${support.reason}`);
    if (nodes.length > netnsNodesMax) throw new NetnsUnavailableError(`a namespace lab holds at most ${netnsNodesMax} nodes, got ${nodes.length}`);
    const id = randomBytes(3).toString('hex');
    const bytes = randomBytes(2);
    // A random private /24 (10.100.0.0 – 10.227.255.0), so concurrent labs do not collide.
    const prefix = `10.${100 + (bytes[0]! % 128)}.${bytes[1]!}`;
    const lab = new NetnsLab(id, nodes, prefix, `sh${id}`);
    liveLabs.add(lab);
    try {
      await lab.build();
    } catch (error) {
      await lab.destroy();
      throw new NetnsUnavailableError(`could not build the namespace lab: ${(error as Error).message}`);
    }
    return lab;
  }

  namespaceOf(node: string): string {
    if (!this.addresses.has(node)) throw new NetnsUnavailableError(`no node ${node} in this lab`);
    return `shoal-${this.id}-${this.nodes.indexOf(node) + 1}`;
  }

  addressOf(node: string): string {
    const address = this.addresses.get(node);
    if (address === undefined) throw new NetnsUnavailableError(`no node ${node} in this lab`);
    return address;
  }

  private get switchNs(): string {
    return `shoal-${this.id}-sw`;
  }

  /** The command line that runs `argv` inside `node`'s namespace. */
  command(node: string, argv: readonly string[]): [string, string[]] {
    return ['ip', ['netns', 'exec', this.namespaceOf(node), ...argv]];
  }

  private async build(): Promise<void> {
    const sw = this.switchNs;
    await run('ip', ['netns', 'add', sw]);
    await run('ip', ['-n', sw, 'link', 'add', 'br0', 'type', 'bridge']);
    await run('ip', ['-n', sw, 'link', 'set', 'br0', 'up']);
    await Promise.all(this.nodes.map(async (node, i) => {
      const ns = this.namespaceOf(node);
      await run('ip', ['netns', 'add', ns]);
      await run('ip', ['link', 'add', 'eth0', 'netns', ns, 'type', 'veth', 'peer', 'name', `p${i + 1}`, 'netns', sw]);
      await run('ip', ['-n', sw, 'link', 'set', `p${i + 1}`, 'master', 'br0', 'up']);
      await run('ip', ['-n', ns, 'addr', 'add', `${this.addressOf(node)}/24`, 'dev', 'eth0']);
      await run('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
      await run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
      for (const chain of ['SHOAL_CUT', 'SHOAL_LOSS']) {
        await run('ip', ['netns', 'exec', ns, 'iptables', '-N', chain]);
        await run('ip', ['netns', 'exec', ns, 'iptables', '-A', 'INPUT', '-j', chain]);
      }
    }));
    await run('ip', ['link', 'add', this.hostLink, 'type', 'veth', 'peer', 'name', 'host', 'netns', sw]);
    await run('ip', ['-n', sw, 'link', 'set', 'host', 'master', 'br0', 'up']);
    await run('ip', ['addr', 'add', `${this.hostAddress}/24`, 'dev', this.hostLink]);
    await run('ip', ['link', 'set', this.hostLink, 'up']);
  }

  /** Cuts every message from each of `from` to each of `to`. */
  async cut(from: readonly string[], to: readonly string[]): Promise<void> {
    for (const f of from) for (const t of to) if (f !== t) this.cuts.add(`${f}>${t}`);
    await this.sync(to, 'SHOAL_CUT');
  }

  /** Removes the cuts between `a` and `b`, both directions; no arguments: every cut. */
  async repair(a?: readonly string[], b?: readonly string[]): Promise<void> {
    if (a === undefined || b === undefined) {
      this.cuts.clear();
      await this.sync(this.nodes, 'SHOAL_CUT');
      return;
    }
    for (const x of a) for (const y of b) {
      this.cuts.delete(`${x}>${y}`);
      this.cuts.delete(`${y}>${x}`);
    }
    await this.sync([...a, ...b], 'SHOAL_CUT');
  }

  /** Sets the loss probability of every message from each of `from` to each of `to`. */
  async setLoss(from: readonly string[], to: readonly string[], probability: number): Promise<void> {
    for (const f of from) for (const t of to) if (f !== t) this.loss.set(`${f}>${t}`, probability);
    await this.sync(to, 'SHOAL_LOSS');
  }

  /** Delays every message `from` sends (netem on its interface, so `to` must be everyone). */
  async setLatency(from: readonly string[], latency: Latency): Promise<void> {
    const delay = netemDelay(latency);
    if (typeof delay === 'string') throw new NetnsUnavailableError(delay);
    if (!netemSupport()) throw new NetnsUnavailableError('latency needs `tc netem`, and this kernel has no sch_netem module');
    await Promise.all(from.map((node) => run('ip', ['netns', 'exec', this.namespaceOf(node), 'tc', 'qdisc', 'replace', 'dev', 'eth0', 'root', 'netem', ...delay])));
  }

  /** Rewrites `chain` in each of the receivers' namespaces (`nodes`) from the current cut / loss tables. */
  private async sync(nodes: readonly string[], chain: 'SHOAL_CUT' | 'SHOAL_LOSS'): Promise<void> {
    await Promise.all([...new Set(nodes)].map(async (node) => {
      const ns = this.namespaceOf(node);
      const lines = ['*filter', `:${chain} - [0:0]`];
      if (chain === 'SHOAL_CUT') {
        for (const f of this.nodes) if (this.cuts.has(`${f}>${node}`)) lines.push(`-A ${chain} -s ${this.addressOf(f)}/32 -j DROP`);
      } else {
        for (const f of this.nodes) {
          const p = this.loss.get(`${f}>${node}`) ?? 0;
          if (p >= 1) lines.push(`-A ${chain} -s ${this.addressOf(f)}/32 -j DROP`);
          else if (p > 0) lines.push(`-A ${chain} -s ${this.addressOf(f)}/32 -m statistic --mode random --probability ${p} -j DROP`);
        }
      }
      lines.push('COMMIT', '');
      // --noflush keeps the INPUT jump; declaring the chain flushes just that chain.
      await new Promise<void>((resolve, reject) => {
        const child = execFile('ip', ['netns', 'exec', ns, 'iptables-restore', '--noflush'], (error) => (error ? reject(error) : resolve()));
        child.stdin!.end(lines.join('\n'));
      });
    }));
  }

  /** Removes every namespace (their interfaces go with them) and the host's link. */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    liveLabs.delete(this);
    const names = [...this.nodes.map((n) => this.namespaceOf(n)), this.switchNs];
    await Promise.all(names.map((ns) => run('ip', ['netns', 'del', ns]).catch(() => undefined)));
    await run('ip', ['link', 'del', this.hostLink]).catch(() => undefined);
  }

  /** The same, synchronously, for process exit. */
  destroySync(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const ns of [...this.nodes.map((n) => this.namespaceOf(n)), this.switchNs]) {
      try {
        execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
      } catch {
        // Already gone.
      }
    }
  }
}
