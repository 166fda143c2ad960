import { NodeFlagError, callFlagOptions, callUsage, parseCallArgs, runCall } from '../../net-real/node/index.ts';
import { UsageError, type Command } from '../cli.ts';

export const command: Command = {
  summary: 'Calls a method on a shoal node over QUIC (HOST:PORT is the node\'s --bind address) and prints the reply as JSON '
    + '(a server or bidirectional stream: one line per message; a client stream sends the elements of a JSON array). '
    + 'With --count N [--concurrency C]: makes N calls and prints one JSON summary (calls/s, p50/p99 ms, outcomes by status). '
    + '`list` prints the services the node serves and `describe SERVICE[/METHOD]` their methods and call kinds '
    + '(unary, serverStream, clientStream, bidi), from the reflection service every node serves (--json: as JSON). '
    + 'Exit 0 when every call succeeded, 1 on an RPC error (its status code printed), 2 on bad input.',
  usage: callUsage,
  options: callFlagOptions,
  async run(values, positionals) {
    try {
      const config = parseCallArgs(values, positionals);
      return await runCall(config, { out: (line) => console.log(line), err: (line) => console.error(line) });
    } catch (error) {
      if (error instanceof NodeFlagError) throw new UsageError(error.message);
      throw error;
    }
  },
};
