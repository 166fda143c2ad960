import { Simulation } from '../../sim/index.ts';
import { UsageError, exitCode, type Command } from '../cli.ts';

/**
 * Until the scenario runner lands, `shoal run` runs a small built-in demo in the simulator:
 * five hosts send each other heartbeats, one crashes and restarts, the network splits and
 * heals, and every host reports when it stopped and started hearing from a peer.
 */
export const command: Command = {
  summary: 'Runs the default demo in the simulator and prints what happened.',
  usage: 'shoal run [--seed N] [--json]',
  options: { seed: { type: 'string' }, json: { type: 'boolean' } },
  async run(values) {
    const seed = values.seed === undefined ? 1 : Number(values.seed);
    if (!Number.isSafeInteger(seed)) throw new UsageError(`--seed must be an integer, got "${values.seed}"`);
    const report = runDemo(seed);
    if (values.json) console.log(JSON.stringify(report));
    else {
      console.log(`shoal demo: 5 hosts, seed ${seed}, ${report.simulatedMs / 1000} s simulated in ${report.wallMs} ms, ${report.events} events`);
      for (const line of report.timeline) console.log(`  ${(line.timeMs / 1000).toFixed(2).padStart(6)} s  ${line.text}`);
      console.log(`trace hash ${report.traceHash}; reproduce with: npx shoal run --seed ${seed}`);
    }
    return exitCode.ok;
  },
};

export function runDemo(seed: number) {
  const sim = new Simulation({ seed, network: { latency: { kind: 'lognormal', medianMs: 2, sigma: 0.5 }, loss: 0.01 } });
  const names = ['n1', 'n2', 'n3', 'n4', 'n5'];
  const timeline: { timeMs: number; text: string }[] = [];
  sim.onOutput(({ host, name, detail, timeMs }) => timeline.push({ timeMs, text: `${host}: ${name} ${(detail as { peer: string }).peer}` }));
  for (const name of names) {
    sim.host(name, ({ transport, clock, emit }) => {
      const lastHeard = new Map<string, number>();
      const silent = new Set<string>();
      transport.datagrams.onDatagram = (from) => {
        const peer = sim.hostAt(from)!;
        lastHeard.set(peer, clock.now());
        if (silent.delete(peer)) emit('hears-again', { peer });
      };
      const tick = () => {
        for (const peer of names) if (peer !== name) transport.datagrams.send(`${peer}:7946`, new Uint8Array(32));
        for (const [peer, at] of lastHeard) {
          if (clock.now() - at > 1500 && !silent.has(peer)) {
            silent.add(peer);
            emit('lost-contact', { peer });
          }
        }
        clock.setTimer(250, tick);
      };
      tick();
    });
  }
  sim.at(3_000, () => sim.crash('n3'));
  sim.at(8_000, () => sim.restart('n3'));
  sim.at(12_000, () => sim.partition(['n1', 'n2'], ['n3', 'n4', 'n5']));
  sim.at(16_000, () => sim.repair());
  const start = performance.now();
  const simulatedMs = 20_000;
  const events = sim.runUntil(simulatedMs);
  return { seed, simulatedMs, wallMs: Math.round(performance.now() - start), events, traceHash: sim.trace.hash, timeline };
}
