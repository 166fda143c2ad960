import { Simulation } from '../../sim/index.ts';
import type { Transport } from '../../core/index.ts';
import { describeTransportCompliance, type TransportHarness } from './transport-suite.ts';

function simHarness(options: { chunking: boolean; loss: number }): () => Promise<TransportHarness> {
  return async () => {
    const sim = new Simulation({
      seed: 11, streamChunking: options.chunking, idleTimeoutMs: 3_000, connectTimeoutMs: 3_000,
      network: { latency: { kind: 'exponential', meanMs: 2, minMs: 0.5 }, loss: options.loss },
    });
    return {
      async endpoint(name) {
        sim.host(name, (ctx) => ctx.transport);
        return sim.app<Transport>(name)!;
      },
      clock: { now: () => sim.nowMs, setTimer: () => 0, cancelTimer: () => undefined },
      advance: async (ms) => void (await sim.runForAsync(ms)),
      waitFor: (cond, boundMs) => sim.runUntilConditionAsync(cond, sim.nowMs + boundMs),
      crash: async (name) => sim.crash(name),
      idleTimeoutMs: 3_000,
      close: async () => undefined,
    };
  };
}

describeTransportCompliance('simulator', simHarness({ chunking: false, loss: 0 }));
describeTransportCompliance('simulator (chunked delivery, 5 % loss)', simHarness({ chunking: true, loss: 0.05 }));
