import { randomInt } from '../../core/index.ts';
import { Simulation } from '../../sim/index.ts';

/** A busy workload: datagrams, streams, loss, duplication, reordering and a fault schedule. */
export function busySim(seed: number, faults: { atMs: number; op: number; host: number }[] = []): Simulation {
  const sim = new Simulation({
    seed, streamChunking: true, idleTimeoutMs: 2_000,
    network: { latency: { kind: 'lognormal', medianMs: 3, sigma: 0.8 }, loss: 0.05, duplicate: 0.02, reorder: 0.05 },
  });
  const names = ['a', 'b', 'c', 'd', 'e'];
  for (const name of names) {
    sim.host(name, ({ transport, clock, random, emit }) => {
      transport.datagrams.onDatagram = (from, payload) => emit('got', { from, n: payload.length });
      transport.streams.onConnection = (conn) => {
        conn.onStream = (s) => {
          s.onData = (d) => s.write(d);
          s.onEnd = () => s.end();
        };
      };
      const tick = () => {
        const peer = names[randomInt(random, names.length)]!;
        if (peer !== name) {
          transport.datagrams.send(`${peer}:7946`, new Uint8Array(1 + randomInt(random, 200)));
          if (random.next() < 0.2) {
            const conn = transport.streams.connect(`${peer}:7946`);
            conn.onClose = (e) => emit('conn-closed', { peer, error: e?.name ?? null });
            const s = conn.openStream();
            s.onData = (d) => emit('echo', { n: d.length });
            s.onClose = () => conn.close();
            s.write(new Uint8Array(1 + randomInt(random, 3_000)));
            s.end();
          }
        }
        clock.setTimer(random.next() * 40, tick);
      };
      tick();
    });
  }
  const ops = [
    (h: string) => sim.crash(h), (h: string) => sim.restart(h), (h: string) => sim.pauseFor(h, 300),
    (h: string) => sim.isolate(h), () => sim.repair(), (h: string) => sim.hold(h, names.filter((n) => n !== h)),
    (h: string) => sim.skewClock(h, 100), (h: string) => sim.partitionOneway(h, names.filter((n) => n !== h)),
  ];
  for (const f of faults) sim.at(f.atMs, () => ops[f.op % ops.length]!(names[f.host % names.length]!));
  return sim;
}

