/**
 * Benchmarks runnable as `shoal bench NAME [--json]`. Each prints one JSON object (with
 * --json) whose figures are compared against a baseline measured in the same run where
 * one exists. Add a benchmark by adding an entry here.
 */
export interface Benchmark {
  readonly description: string;
  run(args: Readonly<Record<string, string | boolean>>): Promise<Record<string, unknown>>;
}

export const benchmarks: Record<string, Benchmark> = {
  tui: { description: 'dashboard overhead: simulated seconds per wall second bare, with the model, and rendered; 200-member frame times', async run(args) { return (await import('./tui.ts')).runTuiBench({ nodes: Number(args.nodes ?? 8), simulatedMs: Number(args.simulatedMs ?? 300_000) }, Number(args.runs ?? 3)); } },
  quic: { description: '64-byte request/reply on loopback at 1/16/256 in flight: raw @matrixai/quic (stream per call, multiplexed), TCP, shoal transport, shoal RPC; ratios and packet sizes; one-way streaming, RPC against the transport (--runs, --in-flight 16,256, --duration MS, --warmup MS, --variants a,b, --streaming false)', async run(args) { const quic = await import('./quic.ts'); return quic.runQuicBench(quic.quicBenchOptionsFromArgs(args)); } },
  balance: { description: 'load-balancing selection cost per strategy at 3, 100 and 1 000 candidates (ns per select)', async run(args) { return (await import('./balance.ts')).runBalanceBench({ runs: Number(args.runs ?? 5) }); } },
  rpc: { description: 'RPC in the simulator (calls and streamed messages per wall second, against bare frames) and over real QUIC (the quic bench; SHOAL_BENCH_RPC_QUIC=0 skips it)', run: async (args) => (await import('./rpc.ts')).runRpcBench(args) },
  swim: { description: 'SWIM in the simulator at 100, 1 000 and 10 000 members (600 s each, LAN; --hosts N for one size, --duration MS): wall time, peak RSS, live heap per member pair, steady CPU per member-second, first and full detection of crashes, 99.99 % join dissemination, bytes per member-second, false failures; false positives with Lifeguard on/off', async run(args) { return (await import('./swim.ts')).runSwimBench(args); } },
  check: { description: 'linearizability checker on generated kv histories, 5 clients on one key: operations per second and the largest history decided within 10 s, doubling from 10 000 operations (median of --runs, default 3)', async run(args) { return { ...(await import('./check.ts')).runCheckBench({ runs: Number(args.runs ?? 3) }) }; } },
  lifeguard: {
    description: 'Lifeguard as the paper measured it: 100 members, 1/4/16 slow members (inbound handled 1 s/5 s/10 s late), loss 0 and 10 %, Lifeguard off and on: false failures about healthy and all members, and detection time of a real crash',
    async run(args) {
      const { runLifeguardBench } = await import('./lifeguard.ts');
      const list = (value: unknown) => (typeof value === 'string' ? value.split(',').map(Number) : undefined);
      return { ...await runLifeguardBench({
        ...(args.members === undefined ? {} : { members: Number(args.members) }),
        ...(args.seeds === undefined ? {} : { seeds: Number(args.seeds) }),
        ...(list(args.slow) === undefined ? {} : { slowCounts: list(args.slow)! }),
        ...(list(args.delays) === undefined ? {} : { delaysMs: list(args.delays)! }),
        ...(list(args.losses) === undefined ? {} : { losses: list(args.losses)! }),
      }, (line) => process.stderr.write(`${line}\n`)) };
    },
  },
  phi: { description: 'phi-accrual detector: ns per heartbeat + phi evaluation, normal and exponential models', async run(args) { return { ...(await import('./phi.ts')).runPhiBench({ runs: Number(args.runs ?? 5) }) }; } },
  sim: {
    description: '1 000 hosts passing small datagrams to random peers: simulator events per wall second',
    async run(args) {
      const { runSimBench } = await import('./sim.ts');
      const runs = Number(args.runs ?? 3);
      const results = [];
      for (let i = 0; i < runs; i++) results.push(runSimBench({ hosts: Number(args.hosts ?? 1000) }));
      const sorted = [...results].sort((a, b) => a.eventsPerSec - b.eventsPerSec);
      const median = sorted[Math.floor(sorted.length / 2)]!;
      return { ...median, runs: results.map((r) => r.eventsPerSec), statistic: 'median' };
    },
  },
};
