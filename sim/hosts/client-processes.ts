import { InvalidArgumentError } from '../../core/errors.ts';
import type { CallOutcomeType } from './call-outcome.ts';

/**
 * The client processes of a workload, as an operation history needs them: each process
 * has at most one call outstanding, and after a call whose outcome is unknown (`info`) it
 * goes on under a fresh id, as Jepsen's processes do, since that call may still take
 * effect at any later time. A call outstanding on a client host instance that went away
 * (crashed or restarted) can never end: it ends `info` when the workload notices.
 */

/** Client processes a workload may have (`workload.clients`). */
export const WORKLOAD_CLIENTS_MAX = 1_000;

/** One call as a history records it. */
export interface WorkloadCall {
  /** The id of the client process that made it. */
  readonly process: number;
  /** `service/method` */
  readonly method: string;
  readonly request: unknown;
}

/** How a call ended: its response, or a failure's status name and whether it certainly did not take effect. */
export type WorkloadCallEnd =
  | { readonly type: 'ok'; readonly response: unknown }
  | { readonly type: Exclude<CallOutcomeType, 'ok'>; readonly status: string };

/** Told of every call's start and end (for histories). */
export interface WorkloadListener {
  invoked(call: WorkloadCall): void;
  ended(call: WorkloadCall, end: WorkloadCallEnd): void;
}

/** The status of a call lost with its client host: it never ends, and may have run. */
export const clientLostStatus = 'CLIENT_LOST';

interface Outstanding {
  readonly call: WorkloadCall;
  /** The client host instance it runs on. */
  readonly host: unknown;
  /** Stops following the call's attempts. */
  readonly release: () => void;
}

/** One client process. */
export class ClientProcess {
  /** Its call outstanding, if any. */
  outstanding: Outstanding | undefined;
  constructor(public id: number) {}
}

export class ClientProcesses {
  private readonly all: ClientProcess[] = [];
  private nextId = 0;
  private host: unknown;

  constructor(private readonly listener: WorkloadListener | undefined) {}

  /** `count` processes of their own (a closed workload: `workload.clients`). */
  fixed(count: number): ClientProcess[] {
    if (!Number.isInteger(count) || count < 1 || count > WORKLOAD_CLIENTS_MAX) {
      throw new InvalidArgumentError(`a workload has 1 to ${WORKLOAD_CLIENTS_MAX} client processes, got ${count}`);
    }
    return Array.from({ length: count }, () => this.spawn());
  }

  /**
   * The lowest-numbered process with no call outstanding, a new one when all are busy (an
   * open workload: as many processes as calls outstanding at once, which deadlines bound).
   */
  idle(): ClientProcess {
    return this.all.find((p) => p.outstanding === undefined) ?? this.spawn();
  }

  /** The client host's current instance (undefined while it is down): calls outstanding on an earlier one end now, as unknown. */
  hostIs(host: unknown): void {
    if (host === this.host) return;
    const gone = this.host;
    this.host = host;
    for (const process of this.all) {
      const outstanding = process.outstanding;
      if (outstanding !== undefined && outstanding.host === gone) this.end(process, outstanding.call, { type: 'info', status: clientLostStatus });
    }
  }

  /** `process` makes `call` on `host`; `release` stops tracking its attempts. */
  start(process: ClientProcess, call: Omit<WorkloadCall, 'process'>, host: unknown, release: () => void): WorkloadCall {
    if (process.outstanding !== undefined) throw new InvalidArgumentError(`client process ${process.id} already has a call outstanding`);
    const made: WorkloadCall = { process: process.id, ...call };
    process.outstanding = { call: made, host, release };
    this.listener?.invoked(made);
    return made;
  }

  /** `call` of `process` ended (a call already ended as lost with its host is not ended again). */
  end(process: ClientProcess, call: WorkloadCall, end: WorkloadCallEnd): void {
    const outstanding = process.outstanding;
    if (outstanding?.call !== call) return;
    process.outstanding = undefined;
    outstanding.release();
    this.listener?.ended(call, end);
    if (end.type === 'info') process.id = this.nextId++;
  }

  private spawn(): ClientProcess {
    const process = new ClientProcess(this.nextId++);
    this.all.push(process);
    return process;
  }
}
