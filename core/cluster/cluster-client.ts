import type { Env } from '../env.ts';
import type { TimerHandle } from '../clock.ts';
import { createStrategy, parseTagFilter, type Strategy, type StrategyName, type TagFilter } from '../balance/index.ts';
import {
  AdmissionQueue, Backoff, QueueFullError, TokenBucket,
  type AdmissionQueueOptions, type CircuitPermit, type TokenBucketOptions,
} from '../resilience/index.ts';
import {
  RpcError, toRpcError, type MethodTable, type RequestOf, type ResponseOf, type ResponseStream, type RpcClient,
  type ServiceClient, type ServiceDefinition, type StatusName,
} from '../rpc/index.ts';
import { AllCircuitsOpenError, NoWorkerError, ShedError, WorkerLostError } from './errors.ts';
import { LatencySample } from './latency-sample.ts';
import type { Worker, WorkerRegistry } from './worker-registry.ts';

export interface ClusterClientOptions {
  /** How a worker is picked among the eligible ones. @default 'power-of-two' */
  strategy?: StrategyName;
  /** Retries after the first attempt, per call (a call's own `retriesMax` overrides it). @default 3 */
  retriesMax?: number;
  /** Ceiling of the first retry's full-jitter delay; doubles per retry. @default 20 */
  backoffBaseMs?: number;
  /** Largest backoff ceiling. @default 1_000 */
  backoffMaxMs?: number;
  /**
   * Calls one worker runs at once from this client. When every eligible worker is at it,
   * calls wait in the admission queue instead of piling onto the workers.
   * @default 32
   */
  inFlightPerWorkerMax?: number;
  /** The bounded queue in front of saturated workers. @default capacity 256, timeout 1 000 ms */
  admission?: AdmissionQueueOptions;
  /** Per-client rate limit; a call beyond it ends with RESOURCE_EXHAUSTED at once. @default none */
  rateLimit?: TokenBucketOptions;
  /**
   * Hedge idempotent unary calls after this delay by default; 'p95' uses the observed
   * 95th percentile of successful calls (once `hedgeSamplesMin` are known).
   * @default undefined (no hedging unless a call asks)
   */
  hedgeAfterMs?: number | 'p95';
  /**
   * Longest one attempt may take before the client gives up on its worker and fails over
   * (an idempotent call) while the call's deadline still has time: a worker that went
   * silent is otherwise only noticed when membership declares it failed.
   * @default undefined (an attempt may use the whole deadline)
   */
  attemptTimeoutMs?: number;
  /** Successful-call latencies needed before 'p95' hedging starts. @default 20 */
  hedgeSamplesMin?: number;
}

/** Per-call options. */
export interface ClusterCallOptions {
  /** Deadline budget for the whole call, retries and queueing included (ms from now). */
  deadlineMs: number;
  /** Narrows the registry's worker pool (`zone=eu`). @default every worker */
  filter?: string;
  /** Affinity key for the `rendezvous` strategy. */
  key?: string;
  /**
   * Safe to run twice: the call may be retried after the server saw it, and hedged. Calls
   * that are not idempotent are retried only when the server certainly did not run them.
   * @default false
   */
  idempotent?: boolean;
  /** Aborting cancels the call: it ends with CANCELLED. */
  signal?: AbortSignal;
  /** Overrides the client's `retriesMax` for this call. */
  retriesMax?: number;
  /** Overrides the client's `hedgeAfterMs` for this call (idempotent unary calls only). */
  hedgeAfterMs?: number | 'p95';
  metadata?: Record<string, string>;
}

export interface ClusterStreamOptions<Req> extends ClusterCallOptions {
  /**
   * Continues a server stream on another worker after a failure mid-stream: given the
   * original request and how many messages the caller already received, the request that
   * produces the rest. Without it a stream that already delivered messages is not retried.
   */
  resume?: (request: Req, received: number) => Req;
}

export interface ClusterClientStats {
  calls: number;
  succeeded: number;
  failed: number;
  attempts: number;
  retries: number;
  hedges: number;
  shed: number;
  queued: number;
}

type UnaryKeys<M extends MethodTable> = { [K in keyof M]: M[K]['kind'] extends 'unary' ? K : never }[keyof M] & string;
type StreamKeys<M extends MethodTable> = { [K in keyof M]: M[K]['kind'] extends 'serverStream' ? K : never }[keyof M] & string;

interface Attempt {
  readonly worker: Worker;
  readonly permit: CircuitPermit;
  readonly controller: AbortController;
  readonly startedAtMs: number;
  /** The worker left the pool while the attempt ran. */
  lost: boolean;
  /** We cancelled it (hedge lost, caller gave up, consumer stopped reading). */
  cancelled: boolean;
  done: boolean;
}

interface CallContext {
  readonly filter: TagFilter | undefined;
  readonly key: string | undefined;
  readonly deadlineAtMs: number;
  readonly idempotent: boolean;
  readonly signal: AbortSignal | undefined;
  readonly tried: Set<string>;
  readonly attempts: Set<Attempt>;
}

interface Waiter {
  resolve(): void;
  reject(error: RpcError): void;
}

/** Codes that say the worker is unwell (they count against its circuit); the rest are the caller's. */
const WORKER_FAULTS: ReadonlySet<StatusName> = new Set(['UNAVAILABLE', 'DEADLINE_EXCEEDED', 'INTERNAL', 'UNKNOWN', 'RESOURCE_EXHAUSTED', 'DATA_LOSS']);
/** Codes worth another attempt elsewhere for an idempotent call. */
const TRANSIENT: ReadonlySet<StatusName> = new Set(['UNAVAILABLE', 'RESOURCE_EXHAUSTED', 'ABORTED', 'INTERNAL', 'UNKNOWN']);

/**
 * Calls a service on whichever worker suits: picks one from the registry's pool with a
 * strategy, calls it over RPC, and on failure fails over to a different worker with
 * full-jitter backoff, bounded by a retry count and by the call's deadline budget. Only
 * idempotent calls, or failures the server certainly did not process, are retried.
 * Optional hedging sends a second attempt after a delay and takes the first answer. Each
 * worker has a circuit breaker; when every worker is at its in-flight limit calls wait in
 * a bounded admission queue; a token bucket limits the client's rate. Every call ends
 * with exactly one outcome: a value, or an `RpcError`.
 */
export class ClusterClient<M extends MethodTable> {
  readonly stats: ClusterClientStats = { calls: 0, succeeded: 0, failed: 0, attempts: 0, retries: 0, hedges: 0, shed: 0, queued: 0 };
  readonly latency = new LatencySample();
  private readonly strategy: Strategy;
  private readonly inFlightMax: number;
  private readonly queue: AdmissionQueue<Waiter>;
  private readonly bucket: TokenBucket | undefined;
  private readonly stubs = new Map<string, ServiceClient<M>>();
  private readonly running = new Map<Worker, Set<Attempt>>();
  private queueTimer: TimerHandle | undefined;
  private queueTimerAtMs = Infinity;

  constructor(
    private readonly env: Env,
    private readonly rpc: RpcClient,
    readonly registry: WorkerRegistry,
    private readonly service: ServiceDefinition<M>,
    private readonly options: ClusterClientOptions = {},
  ) {
    this.strategy = createStrategy(options.strategy ?? 'power-of-two');
    this.inFlightMax = options.inFlightPerWorkerMax ?? 32;
    this.queue = new AdmissionQueue({ capacity: 256, timeoutMs: 1_000, ...options.admission });
    this.bucket = options.rateLimit === undefined ? undefined : new TokenBucket(options.rateLimit, env.clock.now());
    registry.onLost((worker) => this.workerLost(worker));
  }

  /** A unary call; resolves with the response or rejects with exactly one `RpcError`. */
  async call<K extends UnaryKeys<M>>(method: K, request: RequestOf<M[K]>, options: ClusterCallOptions): Promise<ResponseOf<M[K]>> {
    this.stats.calls++;
    try {
      const value = await this.unary(method, request, options);
      this.stats.succeeded++;
      return value as ResponseOf<M[K]>;
    } catch (error) {
      this.stats.failed++;
      throw toRpcError(error);
    }
  }

  /** A server-streaming call: iterate it; breaking out cancels it. Fails over like `call`. */
  async *stream<K extends StreamKeys<M>>(method: K, request: RequestOf<M[K]>, options: ClusterStreamOptions<RequestOf<M[K]>>): AsyncGenerator<ResponseOf<M[K]>, void, undefined> {
    this.stats.calls++;
    let ok = false;
    try {
      yield* this.serverStream(method, request, options as ClusterStreamOptions<unknown>) as AsyncGenerator<ResponseOf<M[K]>, void, undefined>;
      ok = true;
    } catch (error) {
      throw toRpcError(error);
    } finally {
      if (ok) this.stats.succeeded++;
      else this.stats.failed++;
    }
  }

  /** Calls waiting in the admission queue. */
  get queued(): number {
    return this.queue.size;
  }

  private async unary(method: string, request: unknown, options: ClusterCallOptions): Promise<unknown> {
    const ctx = this.begin(options);
    const backoff = this.backoff(options);
    for (;;) {
      try {
        return await this.once(method, request, ctx, this.hedgeDelay(options));
      } catch (error) {
        await this.beforeRetry(toRpcError(error), ctx, backoff);
      }
    }
  }

  private async *serverStream(method: string, request: unknown, options: ClusterStreamOptions<unknown>): AsyncGenerator<unknown, void, undefined> {
    const ctx = this.begin(options);
    const backoff = this.backoff(options);
    let received = 0;
    let next = request;
    for (;;) {
      const attempt = await this.acquire(ctx);
      let failure: RpcError | undefined;
      const stub = this.stub(attempt.worker.address) as unknown as Record<string, (r: unknown, o: object) => ResponseStream<unknown>>;
      try {
        const responses = stub[method]!(next, this.callOptions(ctx, attempt, options.metadata));
        for await (const message of responses) {
          received++;
          yield message;
        }
        this.end(attempt, undefined);
        return;
      } catch (error) {
        failure = this.failureOf(attempt, error, ctx);
        this.end(attempt, failure);
      } finally {
        // The consumer stopped reading: cancel the attempt, which is not the worker's fault.
        if (!attempt.done) {
          attempt.cancelled = true;
          attempt.controller.abort();
          this.end(attempt, new RpcError('CANCELLED', 'the caller stopped reading'));
        }
      }
      if (received > 0 && options.resume === undefined) throw failure;
      await this.beforeRetry(failure, ctx, backoff);
      if (options.resume !== undefined) next = options.resume(request, received);
    }
  }

  private begin(options: ClusterCallOptions): CallContext {
    const now = this.env.clock.now();
    if (this.bucket !== undefined && !this.bucket.tryTake(now)) {
      this.stats.shed++;
      throw new ShedError('rate-limited', `client rate limit exceeded; a token is available in ${this.bucket.waitMs(now)} ms`);
    }
    if (options.signal?.aborted === true) throw new RpcError('CANCELLED', 'the signal was aborted before the call started');
    const ctx: CallContext = {
      filter: options.filter === undefined ? undefined : parseTagFilter(options.filter),
      key: options.key,
      deadlineAtMs: now + options.deadlineMs,
      idempotent: options.idempotent ?? false,
      signal: options.signal,
      tried: new Set(),
      attempts: new Set(),
    };
    options.signal?.addEventListener('abort', () => {
      for (const attempt of ctx.attempts) this.cancel(attempt);
    }, { once: true });
    return ctx;
  }

  private backoff(options: ClusterCallOptions): Backoff {
    return new Backoff({ baseMs: this.options.backoffBaseMs ?? 20, maxMs: this.options.backoffMaxMs ?? 1_000, retriesMax: options.retriesMax ?? this.options.retriesMax ?? 3 });
  }

  /** Waits out the backoff before the next attempt, or throws `error` when the call must end with it. */
  private async beforeRetry(error: RpcError, ctx: CallContext, backoff: Backoff): Promise<void> {
    if (!this.retryable(error, ctx)) throw error;
    const delayMs = backoff.nextDelayMs(this.env.random, ctx.deadlineAtMs - this.env.clock.now());
    if (delayMs === undefined) throw error;
    this.stats.retries++;
    await this.sleep(delayMs, ctx);
  }

  private retryable(error: RpcError, ctx: CallContext): boolean {
    if (ctx.signal?.aborted === true || error.code === 'DEADLINE_EXCEEDED' || error.code === 'CANCELLED') return false;
    if (error instanceof NoWorkerError || error instanceof AllCircuitsOpenError || error instanceof ShedError) return false;
    if (error.unprocessed) return true;
    return ctx.idempotent && TRANSIENT.has(error.code);
  }

  private hedgeDelay(options: ClusterCallOptions): number | undefined {
    if (options.idempotent !== true) return undefined;
    const setting = options.hedgeAfterMs ?? this.options.hedgeAfterMs;
    if (setting !== 'p95') return setting;
    if (this.latency.size < (this.options.hedgeSamplesMin ?? 20)) return undefined;
    return this.latency.quantile(0.95);
  }

  /** One attempt, plus a hedge after `hedgeAfterMs` if the first has not answered by then. */
  private async once(method: string, request: unknown, ctx: CallContext, hedgeAfterMs: number | undefined): Promise<unknown> {
    const first = await this.acquire(ctx);
    if (hedgeAfterMs === undefined) return this.run(first, method, request, ctx);
    return new Promise((resolve, reject) => {
      let settled = false;
      let running = 0;
      const attempts: Attempt[] = [];
      const launch = (attempt: Attempt) => {
        running++;
        attempts.push(attempt);
        this.run(attempt, method, request, ctx).then((value) => {
          if (settled) return;
          settled = true;
          this.env.clock.cancelTimer(timer);
          for (const other of attempts) if (other !== attempt) this.cancel(other);
          resolve(value);
        }, (error: unknown) => {
          running--;
          if (settled || running > 0) return;
          settled = true;
          this.env.clock.cancelTimer(timer);
          reject(error);
        });
      };
      launch(first);
      const timer = this.env.clock.setTimer(hedgeAfterMs, () => {
        if (settled || this.env.clock.now() >= ctx.deadlineAtMs) return;
        const second = this.pick(ctx, true);
        if (second === undefined) return;
        this.stats.hedges++;
        launch(second);
      });
    });
  }

  private async run(attempt: Attempt, method: string, request: unknown, ctx: CallContext): Promise<unknown> {
    const stub = this.stub(attempt.worker.address) as unknown as Record<string, (r: unknown, o: object) => Promise<unknown>>;
    try {
      const value = await stub[method]!(request, this.callOptions(ctx, attempt, undefined));
      this.end(attempt, undefined);
      return value;
    } catch (error) {
      const failure = this.failureOf(attempt, error, ctx);
      this.end(attempt, failure);
      throw failure;
    }
  }

  private callOptions(ctx: CallContext, attempt: Attempt, metadata: Record<string, string> | undefined): object {
    const attemptTimeoutMs = this.options.attemptTimeoutMs;
    const deadlineMs = attemptTimeoutMs === undefined ? ctx.deadlineAtMs : Math.min(ctx.deadlineAtMs, attempt.startedAtMs + attemptTimeoutMs);
    return { deadlineMs, signal: attempt.controller.signal, metadata };
  }

  /** What an attempt's failure means for the call: an attempt timeout inside the budget is the worker's fault. */
  private failureOf(attempt: Attempt, error: unknown, ctx: CallContext): RpcError {
    if (attempt.lost) return new WorkerLostError(attempt.worker.id);
    const failure = toRpcError(error);
    if (failure.code === 'DEADLINE_EXCEEDED' && this.env.clock.now() < ctx.deadlineAtMs) {
      return new RpcError('UNAVAILABLE', `attempt on ${attempt.worker.id} timed out after ${this.options.attemptTimeoutMs} ms`, { cause: failure });
    }
    return failure;
  }

  /** A worker with a permit, waiting in the admission queue while all eligible ones are busy. */
  private async acquire(ctx: CallContext): Promise<Attempt> {
    for (;;) {
      if (this.env.clock.now() >= ctx.deadlineAtMs) throw new RpcError('DEADLINE_EXCEEDED', 'the deadline passed before a worker was free', { unprocessed: true });
      const attempt = this.pick(ctx, false);
      if (attempt !== undefined) return attempt;
      await this.admit(ctx);
    }
  }

  /**
   * Picks an eligible worker and starts an attempt on it; undefined when all are busy.
   * Throws when none can ever take the call right now (no worker, every circuit open).
   * `hedge` excludes workers this call is already running on and never throws.
   */
  private pick(ctx: CallContext, hedge: boolean): Attempt | undefined {
    const now = this.env.clock.now();
    const pool = this.registry.pool(ctx.filter);
    if (pool.length === 0) {
      if (hedge) return undefined;
      throw new NoWorkerError(ctx.filter?.expression ?? this.registry.filter.expression);
    }
    const busy = new Set<string>();
    for (const attempt of ctx.attempts) busy.add(attempt.worker.id);
    // Fail over to workers this call has not tried; once all were tried, any will do.
    let fresh = pool.filter((w) => !ctx.tried.has(w.id) && !busy.has(w.id));
    if (fresh.length === 0) fresh = hedge ? [] : pool.slice();
    let closed = fresh.filter((w) => w.circuit(now) !== 'open');
    if (closed.length === 0) {
      if (hedge || fresh.length === 0) return undefined;
      throw new AllCircuitsOpenError(ctx.filter?.expression ?? this.registry.filter.expression, Math.min(...fresh.map((w) => w.breaker.retryAfterMs(now))));
    }
    // A half-open circuit may refuse (its probes are taken): drop it and choose again.
    for (let tries = closed.length; tries > 0; tries--) {
      const free = closed.filter((w) => w.inFlight < this.inFlightMax);
      const worker = this.strategy.select(free, { random: this.env.random, key: ctx.key, nowMs: now });
      if (worker === undefined) return undefined;
      const permit = worker.breaker.tryAcquire(now);
      if (permit !== undefined) return this.start(worker, permit, ctx);
      closed = closed.filter((w) => w !== worker);
    }
    return undefined;
  }

  private start(worker: Worker, permit: CircuitPermit, ctx: CallContext): Attempt {
    const attempt: Attempt = { worker, permit, controller: new AbortController(), startedAtMs: this.env.clock.now(), lost: false, cancelled: false, done: false };
    worker.inFlight++;
    ctx.tried.add(worker.id);
    ctx.attempts.add(attempt);
    let set = this.running.get(worker);
    if (set === undefined) this.running.set(worker, (set = new Set()));
    set.add(attempt);
    this.stats.attempts++;
    attempt.controller.signal.addEventListener('abort', () => ctx.attempts.delete(attempt), { once: true });
    return attempt;
  }

  /** Records an attempt's outcome on its worker exactly once and lets a queued call in. */
  private end(attempt: Attempt, error: RpcError | undefined): void {
    if (attempt.done) return;
    attempt.done = true;
    const now = this.env.clock.now();
    const { worker } = attempt;
    worker.inFlight--;
    worker.lastReleasedAtMs = now;
    this.running.get(worker)?.delete(attempt);
    if (error === undefined) {
      const latencyMs = now - attempt.startedAtMs;
      worker.breaker.onSuccess(attempt.permit, now);
      worker.observeLatency(latencyMs, now);
      worker.served++;
      this.latency.add(latencyMs);
    } else if (attempt.cancelled) {
      worker.breaker.onCancel(attempt.permit);
    } else if (attempt.lost || WORKER_FAULTS.has(error.code)) {
      worker.breaker.onFailure(attempt.permit, now);
    } else {
      // An application error: the worker answered, so it is healthy.
      worker.breaker.onSuccess(attempt.permit, now);
    }
    this.pump();
  }

  private cancel(attempt: Attempt): void {
    if (attempt.done) return;
    attempt.cancelled = true;
    attempt.controller.abort();
  }

  private workerLost(worker: Worker): void {
    for (const attempt of [...(this.running.get(worker) ?? [])]) {
      attempt.lost = true;
      attempt.controller.abort();
    }
  }

  // ------------------------------------------------------------------ admission

  private admit(ctx: CallContext): Promise<void> {
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { resolve, reject };
      try {
        this.queue.offer(waiter, this.env.clock.now(), ctx.deadlineAtMs);
      } catch (error) {
        if (!(error instanceof QueueFullError)) throw error;
        this.stats.shed++;
        reject(new ShedError('queue-full', error.message, error));
        return;
      }
      this.stats.queued++;
      ctx.signal?.addEventListener('abort', () => {
        if (this.queue.remove(waiter)) reject(new RpcError('CANCELLED', 'cancelled while waiting for a worker', { unprocessed: true }));
      }, { once: true });
      this.armQueueTimer();
    });
  }

  /** Lets waiting calls retry selection, as many as there are free slots. */
  private pump(): void {
    if (this.queue.size === 0) return;
    const now = this.env.clock.now();
    let slots = 0;
    for (const worker of this.registry.pool()) {
      if (worker.circuit(now) !== 'open') slots += Math.max(0, this.inFlightMax - worker.inFlight);
    }
    for (; slots > 0; slots--) {
      const waiter = this.queue.take(now);
      if (waiter === undefined) break;
      waiter.resolve();
    }
    this.armQueueTimer();
  }

  private armQueueTimer(): void {
    const at = this.queue.nextDeadlineMs();
    if (at === this.queueTimerAtMs) return;
    if (this.queueTimer !== undefined) this.env.clock.cancelTimer(this.queueTimer);
    this.queueTimer = undefined;
    this.queueTimerAtMs = at;
    if (at === Infinity) return;
    this.queueTimer = this.env.clock.setTimer(Math.max(0, at - this.env.clock.now()), () => {
      this.queueTimer = undefined;
      this.queueTimerAtMs = Infinity;
      this.queue.expire(this.env.clock.now(), (waiter, error) => {
        this.stats.shed++;
        waiter.reject(new RpcError('DEADLINE_EXCEEDED', error.message, { unprocessed: true, cause: error }));
      });
      this.armQueueTimer();
    });
  }

  private sleep(delayMs: number, ctx: CallContext): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = this.env.clock.setTimer(delayMs, () => {
        ctx.signal?.removeEventListener('abort', onAbort);
        resolve();
      });
      const onAbort = () => {
        this.env.clock.cancelTimer(timer);
        reject(new RpcError('CANCELLED', 'cancelled during backoff'));
      };
      ctx.signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  private stub(address: string): ServiceClient<M> {
    let stub = this.stubs.get(address);
    if (stub === undefined) {
      stub = this.rpc.service(this.service, address);
      this.stubs.set(address, stub);
    }
    return stub;
  }
}
