import type { Clock } from './clock.ts';
import type { Interner } from './intern.ts';
import type { Random } from './random.ts';
import type { Transport } from './transport.ts';

/** Severity of a log record, lowest first. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** Structured logging as the protocols see it; real mode backs it with pino. */
export interface Logger {
  log(level: LogLevel, message: string, fields?: Readonly<Record<string, unknown>>): void;
}

export const silentLogger: Logger = { log() {} };

/**
 * Everything the protocol core may touch. `core/` reads time, draws randomness and moves
 * bytes only through this object, which is what lets the same code run in the simulator
 * and on the real network.
 */
export interface Env {
  readonly clock: Clock;
  readonly random: Random;
  readonly transport: Transport;
  readonly logger: Logger;
  /**
   * Shares decoded names, addresses and encoded broadcasts between the members that use
   * it (see `Interner`). @default `defaultInterner`, one table per process
   */
  readonly interner?: Interner;
}
