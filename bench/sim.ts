import { randomInt } from '../core/index.ts';
import { Simulation } from '../sim/index.ts';

export interface SimBenchOptions {
  hosts?: number;
  /** Datagrams each host puts in circulation at the start. */
  messagesPerHost?: number;
  simulatedMs?: number;
  seed?: number;
  /** Entries kept in memory by the trace (0: hash only). */
  traceCapacity?: number;
}

export interface SimBenchResult {
  bench: 'sim';
  hosts: number;
  simulatedMs: number;
  events: number;
  delivered: number;
  wallMs: number;
  eventsPerSec: number;
  deliveredPerSec: number;
  traceHash: string;
}

/**
 * 1 000 hosts playing hot potato with small datagrams: every datagram received is sent on
 * to a random peer, so nearly every event is a delivery plus the send it triggers.
 */
export function runSimBench(options: SimBenchOptions = {}): SimBenchResult {
  const hosts = options.hosts ?? 1000;
  const messagesPerHost = options.messagesPerHost ?? 4;
  const simulatedMs = options.simulatedMs ?? 2_000;
  const sim = new Simulation({ seed: options.seed ?? 1, trace: { capacity: options.traceCapacity ?? 0 } });
  const addresses: string[] = [];
  for (let i = 0; i < hosts; i++) addresses.push(`h${i}:7946`);
  let delivered = 0;
  const payload = new Uint8Array(64);
  for (let i = 0; i < hosts; i++) {
    sim.host(`h${i}`, ({ transport, random, clock }) => {
      const send = () => transport.datagrams.send(addresses[randomInt(random, hosts)]!, payload);
      transport.datagrams.onDatagram = () => {
        delivered++;
        send();
      };
      clock.setTimer(random.next(), () => {
        for (let m = 0; m < messagesPerHost; m++) send();
      });
    });
  }
  const start = performance.now();
  const events = sim.runUntil(simulatedMs);
  const wallMs = performance.now() - start;
  return {
    bench: 'sim', hosts, simulatedMs, events, delivered, wallMs: round(wallMs),
    eventsPerSec: Math.round(events / (wallMs / 1000)),
    deliveredPerSec: Math.round(delivered / (wallMs / 1000)),
    traceHash: sim.trace.hash,
  };
}

function round(x: number): number {
  return Math.round(x * 10) / 10;
}
