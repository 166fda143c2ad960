import type { Env } from '../../core/index.ts';
import { Simulation } from '../../sim/index.ts';
import { describeRpcCloseCompliance } from './rpc-close-suite.ts';

describeRpcCloseCompliance('simulator (chunked delivery, 5 % loss)', async () => {
  const sim = new Simulation({
    seed: 7, streamChunking: true,
    network: { latency: { kind: 'exponential', meanMs: 2, minMs: 0.5 }, loss: 0.05 },
  });
  return {
    async env(name) {
      sim.host(name, (ctx) => ctx);
      return sim.app<Env>(name)!;
    },
    waitFor: (cond, boundMs) => sim.runUntilConditionAsync(cond, sim.nowMs + boundMs),
    close: async () => undefined,
  };
});
