import { z } from 'zod';
import { defineService, unary } from '../../core/rpc/index.ts';

export const nodeStatusResponse = z.object({
  name: z.string(),
  address: z.string(),
  incarnation: z.number(),
  liveMembers: z.number(),
  localHealth: z.number(),
  uptimeMs: z.number(),
});

export type NodeStatusResponse = z.infer<typeof nodeStatusResponse>;

/** The node's own RPC service: every node serves it, and nodes call it on each other (`--rpc-probe-ms`). */
export const nodeService = defineService('shoal.node.v1', {
  status: unary<Record<string, never>, NodeStatusResponse>({ response: nodeStatusResponse }),
});
