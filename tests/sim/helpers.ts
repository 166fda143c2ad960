import { Simulation, type SimulationOptions } from '../../sim/index.ts';

/** Every failing simulated test names its seed and how to rerun it. */
export function seedHint(seed: number | string, test: string): string {
  return `seed ${seed}: rerun with \`npx vitest run ${test} -t "<test name>"\` (the seed is fixed in the test)`;
}

/** A simulation whose hosts record every datagram they receive. */
export function recordingSim(options: SimulationOptions, names: string[]) {
  const sim = new Simulation(options);
  const received = new Map<string, { from: string; at: number; payload: Uint8Array }[]>();
  for (const name of names) {
    received.set(name, []);
    sim.host(name, ({ transport }) => {
      transport.datagrams.onDatagram = (from, payload) => {
        received.get(name)!.push({ from: sim.hostAt(from)!, at: sim.nowMs, payload: payload.slice() });
      };
      return transport;
    });
  }
  const send = (from: string, to: string, payload: Uint8Array = new Uint8Array(8)) => {
    const transport = sim.app<import('../../core/index.ts').Transport>(from);
    transport!.datagrams.send(sim.address(to), payload);
  };
  return { sim, received, send };
}
