import { pino } from 'pino';
import { NodeFlagError, ShoalNode, nodeFlagOptions, nodeUsage, parseNodeFlags, type NodeConfig } from '../../net-real/node/index.ts';
import { UsageError, exitCode, type Command } from '../cli.ts';

/** Waits for a line `start` on stdin; false when stdin ends first (the lab gave up on this node). */
function startLine(): Promise<boolean> {
  return new Promise((resolve) => {
    let buffer = '';
    const done = (started: boolean) => {
      process.stdin.off('data', onData);
      process.stdin.pause();
      resolve(started);
    };
    const onData = (chunk: Buffer) => {
      buffer = (buffer + chunk.toString('utf8')).slice(-64);
      if (/(^|\n)start\r?\n/.test(buffer)) done(true);
    };
    process.stdin.on('data', onData);
    process.stdin.once('end', () => done(false));
  });
}

export const command: Command = {
  summary: 'Runs one cluster member on the real network (QUIC + encrypted gossip) with an admin HTTP endpoint, '
    + 'and apps on it: --app MODULE [--app-config JSON] (repeatable), or by default the director/worker example '
    + '(--director, --strategy and --worker-filter configure it). '
    + 'Secure by default: mutual TLS and a gossip key, unless --insecure (which warns). '
    + 'SIGTERM/SIGINT leave the cluster gracefully and exit 0. Exit 2, with one line, on bad flags, unusable TLS or key files, '
    + 'an address it cannot listen on, or an app that cannot be loaded, configured or started. '
    + 'Labs: --fault-control serves POST /fault (slow inbound messages; loopback or a network namespace only); '
    + '--start-on-stdin loads everything, logs "node loaded" and starts when a line "start" arrives on stdin, so a lab can start many nodes at one instant.',
  usage: nodeUsage,
  options: nodeFlagOptions,
  async run(values, positionals) {
    let config: NodeConfig;
    try {
      config = await parseNodeFlags(values, positionals);
    } catch (error) {
      if (error instanceof NodeFlagError) throw new UsageError(error.message);
      throw error;
    }
    // Synchronous writes: the last lines before exit are never lost.
    const log = pino({ level: config.logLevel, base: { node: config.name } }, pino.destination({ fd: 1, sync: true }));
    if (values['start-on-stdin'] === true) {
      log.info('node loaded');
      if (!await startLine()) return exitCode.ok;
    }
    let node: ShoalNode;
    try {
      node = await ShoalNode.start(config, log);
    } catch (error) {
      if (error instanceof NodeFlagError) throw new UsageError(error.message);
      throw error;
    }
    return await new Promise<number>((resolve) => {
      const stop = (signal: string) => {
        log.info({ signal }, 'shutting down');
        const bound = setTimeout(() => {
          log.error({ boundMs: config.shutdownTimeoutMs }, 'shutdown did not finish in time');
          process.exit(exitCode.failed);
        }, config.shutdownTimeoutMs);
        bound.unref();
        node.shutdown().then(() => {
          clearTimeout(bound);
          // Whatever handle a library leaves open must not keep a stopped node alive.
          setTimeout(() => process.exit(exitCode.ok), 1_000).unref();
          resolve(exitCode.ok);
        }, (error: unknown) => {
          log.error({ error: (error as Error).message }, 'shutdown failed');
          resolve(exitCode.failed);
        });
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
    });
  },
};
