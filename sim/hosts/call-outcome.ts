import { RpcError, type RpcClient, type ServiceDefinition, type StatusName } from '../../core/rpc/index.ts';

/**
 * What the end of a workload's call says about its effect, for operation histories: `ok`
 * (it ran and answered), `fail` (it certainly did not take effect) or `info` (it may have:
 * a checker must treat it as may-or-may-not-have-happened). Only certainty makes a `fail`:
 * a call refused before anything was sent, or refused by a server that looked at it and
 * declined; and only when no earlier attempt of the same call may have run, because the
 * cluster client retries an idempotent call elsewhere after an attempt whose outcome was
 * unknown (and hedges it), so the error a call ends with speaks for its last attempt only.
 */
export type CallOutcomeType = 'ok' | 'fail' | 'info';

/**
 * Codes with which a server that looked at a request declines it without carrying it out,
 * in gRPC's meanings ("the operation was rejected"). Not here, because the operation may
 * have happened in part or in full: DEADLINE_EXCEEDED, UNAVAILABLE, CANCELLED (the answer
 * was lost, or the wait for it given up), UNKNOWN and INTERNAL (the handler failed
 * somewhere), ABORTED, RESOURCE_EXHAUSTED and DATA_LOSS (from inside a handler). Any of
 * them marked `unprocessed` (refused before dispatch, never sent) is certain all the same.
 */
export const REFUSAL_CODES: ReadonlySet<StatusName> = new Set([
  'INVALID_ARGUMENT', 'NOT_FOUND', 'ALREADY_EXISTS', 'PERMISSION_DENIED', 'FAILED_PRECONDITION', 'OUT_OF_RANGE', 'UNIMPLEMENTED', 'UNAUTHENTICATED',
]);

/** Whether an attempt (or a call) that ended with `error` certainly did not run. */
export function certainlyNotRun(error: unknown): boolean {
  return error instanceof RpcError && (error.unprocessed || REFUSAL_CODES.has(error.code));
}

/** The type of a failed call's end; `mayHaveRun`: one of its attempts may have run (see `AttemptTracker`). */
export function failureType(error: unknown, mayHaveRun: boolean): 'fail' | 'info' {
  return !mayHaveRun && certainlyNotRun(error) ? 'fail' : 'info';
}

/** A call in flight, as its attempts made it known. */
export interface TrackedCall {
  /** An attempt of it ran, or ended in a way that does not rule out that it ran (or its end was not observed). */
  mayHaveRun: boolean;
}

/**
 * Watches the attempts the cluster client makes for calls in flight, through an RPC client
 * wrapped around the host's. An attempt is told apart by its request: the cluster client
 * hands every attempt of a call (retries, hedges) the call's own request value. Calls that
 * share a request value (a generator returning the same object or number twice) share
 * what their attempts reveal, and an attempt whose request belongs to no call (a resumed
 * stream asks with a new request) counts for every call in flight: both err towards
 * `info`, never towards a false `fail`.
 */
export class AttemptTracker {
  private readonly calls = new Map<unknown, Set<TrackedCall>>();
  private readonly inFlight = new Set<TrackedCall>();

  /** Starts tracking a call about to be made with `request`. */
  begin(request: unknown): TrackedCall {
    const call: TrackedCall = { mayHaveRun: false };
    let same = this.calls.get(request);
    if (same === undefined) this.calls.set(request, (same = new Set()));
    same.add(call);
    this.inFlight.add(call);
    return call;
  }

  /** Stops tracking a call that ended (or was abandoned). */
  end(call: TrackedCall, request: unknown): void {
    this.inFlight.delete(call);
    const same = this.calls.get(request);
    same?.delete(call);
    if (same?.size === 0) this.calls.delete(request);
  }

  /** `rpc`, with every call made through its stubs watched. */
  wrap(rpc: RpcClient): RpcClient {
    return new Proxy(rpc, {
      get: (target, property, receiver) => {
        if (property !== 'service') return Reflect.get(target, property, receiver) as unknown;
        return (definition: ServiceDefinition, address: string) => this.stub(target.service(definition, address) as Record<string, unknown>, definition);
      },
    });
  }

  private stub(stub: Record<string, unknown>, definition: ServiceDefinition): Record<string, unknown> {
    const watched: Record<string, unknown> = {};
    for (const [name, method] of Object.entries(definition.methods)) {
      const original = stub[name] as (request: unknown, options?: object) => unknown;
      watched[name] = method.kind === 'unary'
        ? (request: unknown, options?: object) => this.unary(this.callsOf(request), original(request, options) as Promise<unknown>)
        : (request: unknown, options?: object) => {
          // A stream's attempts are not followed to their end: each may have run.
          mayHaveRun(this.callsOf(request));
          return original(request, options);
        };
    }
    return watched;
  }

  private unary(calls: readonly TrackedCall[], result: Promise<unknown>): Promise<unknown> {
    return result.then((response) => {
      mayHaveRun(calls);
      return response;
    }, (error: unknown) => {
      if (!certainlyNotRun(error)) mayHaveRun(calls);
      throw error;
    });
  }

  /** The calls an attempt made now with `request` belongs to (an attempt may end after its call did: a lost hedge). */
  private callsOf(request: unknown): TrackedCall[] {
    return [...(this.calls.get(request) ?? this.inFlight)];
  }
}

function mayHaveRun(calls: readonly TrackedCall[]): void {
  for (const call of calls) call.mayHaveRun = true;
}
