import { Simulation } from '../../sim/index.ts';
import { buildCluster, type ClusterNode, type ClusterSetupOptions } from '../../sim/hosts/cluster.ts';

export { simTest, settle, expectRpcError, type Outcome } from '../rpc/helpers.ts';

export interface ClusterRig {
  sim: Simulation;
  workers: string[];
  node(name: string): ClusterNode;
}

/** A director, `workers` workers and a client host, run until the client sees every worker. */
export async function clusterRig(seed: number, options: ClusterSetupOptions): Promise<ClusterRig> {
  const sim = new Simulation({ seed });
  const { workers } = buildCluster(sim, options);
  const node = (name: string) => {
    const app = sim.app<ClusterNode>(name);
    if (app === undefined) throw new Error(`host ${name} is down`);
    return app;
  };
  const converged = await sim.runUntilConditionAsync(() => node('client').workers.pool().length === options.workers, 20_000);
  if (!converged) throw new Error(`the client saw ${node('client').workers.pool().length} of ${options.workers} workers after 20 s`);
  return { sim, workers, node };
}
