import type { Connection, Stream } from '../../core/index.ts';
import { protocolMagic } from '../../core/rpc/index.ts';

/** Who serves an accepted connection, decided by the first byte of its first stream. */
export interface ConnectionRoutes {
  /** RPC sessions: the first stream starts with the RPC preamble's magic ("SHRP"). */
  rpc(connection: Connection): void;
  /** Anything else: SWIM push-pull, whose frames start with a u32 length (first byte 0). */
  other(connection: Connection): void;
}

/**
 * SWIM push-pull and RPC share the node's one port, and each wants every incoming
 * connection (`streams.onConnection`). Both open exactly one stream per connection and
 * speak first on it, so the first byte tells them apart: the connection is handed to its
 * owner, which installs its own handlers, and the stream and the bytes already read are
 * replayed to it.
 */
export function routeConnection(connection: Connection, routes: ConnectionRoutes): void {
  connection.onStream = (stream: Stream) => {
    const held: Uint8Array[] = [];
    let ended = false;
    const decide = (first: number) => {
      const owner = first === protocolMagic[0] ? routes.rpc : routes.other;
      owner(connection);
      const onStream = connection.onStream;
      if (onStream === undefined) return stream.reset(0);
      onStream(stream);
      for (const chunk of held) stream.onData?.(chunk);
      if (ended) stream.onEnd?.();
    };
    stream.onData = (data) => {
      if (data.length === 0) return;
      held.push(data);
      decide(data[0]!);
    };
    // A stream that ends before its first byte belongs to nobody.
    stream.onEnd = () => {
      ended = true;
      if (held.length === 0) connection.close();
    };
  };
}
