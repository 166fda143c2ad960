import type { Clock, RpcClient } from '../../core/public.ts';
import { DirectorService, WorkerService } from './service.ts';

export interface DirectorClientOptions {
  /** Assignments tried per request before giving up. @default 5 */
  assignmentsMax?: number;
  /**
   * Longest wait for a worker's next answer (the compute result or the next token) before
   * the client gives up on it and asks the director for another: the client runs no
   * failure detector of its own, so silence is how it notices a dead worker.
   * @default 1_000
   */
  silenceMsMax?: number;
  /** Deadline of each director request. @default 1_000 */
  directorTimeoutMs?: number;
}

/**
 * The tutorial's client: asks the director for a worker, calls the worker directly, and on
 * failure (an error or `silenceMsMax` without an answer) asks again, excluding the workers
 * that failed, and resumes where it stopped. Both calls are idempotent, so a retry is safe.
 * `source` gives the clock its silence timers run on (an environment or an `AppNode`).
 */
export class DirectorClient {
  /** Worker changes after a failure, for tests and logs. */
  failovers = 0;
  private readonly clock: Clock;
  private readonly assignmentsMax: number;
  private readonly silenceMsMax: number;

  constructor(source: { readonly clock: Clock }, private readonly rpc: RpcClient, private readonly director: string, private readonly options: DirectorClientOptions = {}) {
    this.clock = source.clock;
    this.assignmentsMax = options.assignmentsMax ?? 5;
    this.silenceMsMax = options.silenceMsMax ?? 1_000;
  }

  async compute(n: number, serviceMs = 0): Promise<{ worker: string; result: number }> {
    const exclude: string[] = [];
    let last: unknown;
    for (let i = 0; i < this.assignmentsMax; i++) {
      const worker = await this.assign(exclude);
      try {
        return await this.rpc.service(WorkerService, worker.address).compute({ n, serviceMs }, { timeoutMs: serviceMs + this.silenceMsMax });
      } catch (error) {
        last = error;
        exclude.push(worker.name);
        this.failovers++;
      }
    }
    throw last;
  }

  /** Streams `count` tokens, switching workers mid-stream without losing or repeating one. */
  async *tokens(count: number, intervalMs: number): AsyncGenerator<{ i: number; worker: string }> {
    const exclude: string[] = [];
    let next = 0;
    let last: unknown;
    for (let i = 0; i < this.assignmentsMax && next < count; i++) {
      const worker = await this.assign(exclude);
      const controller = new AbortController();
      let timer = this.clock.setTimer(intervalMs + this.silenceMsMax, () => controller.abort());
      try {
        const stream = this.rpc.service(WorkerService, worker.address).tokens({ count, from: next, intervalMs }, { signal: controller.signal });
        for await (const token of stream) {
          this.clock.cancelTimer(timer);
          timer = this.clock.setTimer(intervalMs + this.silenceMsMax, () => controller.abort());
          next = token.i + 1;
          yield token;
        }
        this.clock.cancelTimer(timer);
        return;
      } catch (error) {
        this.clock.cancelTimer(timer);
        last = error;
        exclude.push(worker.name);
        this.failovers++;
      }
    }
    if (next < count) throw last;
  }

  private assign(exclude: string[]): Promise<{ name: string; address: string }> {
    return this.rpc.service(DirectorService, this.director).assign({ filter: 'role=worker', exclude }, { timeoutMs: this.options.directorTimeoutMs ?? 1_000 });
  }
}
