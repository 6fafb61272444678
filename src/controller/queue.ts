/**
 * The keyed work queue of the controller, with client-go's workqueue guarantees:
 *
 * - a key is queued at most once: adding a key that waits already folds into it;
 * - a key is never handed to two workers at once: a key added while a worker holds it is
 *   marked dirty and queued again when that worker calls `done()`;
 * - `addRateLimited()` retries a key after a per-key exponential backoff that `forget()`
 *   resets; `addAfter()` queues a key later, keeping the earliest time if asked twice.
 *
 * Keys only: a worker reads the object fresh from the cache (level-triggered).
 */
import { backoffDelay } from '../kube/backoff.ts';
import type { BackoffPolicy } from '../kube/backoff.ts';
import { systemClock } from './clock.ts';
import type { Clock, Timer } from './clock.ts';

/** controller-runtime's per-item limiter starts at 5 ms; ours caps at 2 minutes, not 16. */
export const QUEUE_BACKOFF: BackoffPolicy = { initialMs: 5, maxMs: 120_000, factor: 2, jitter: 0 };

/** What the queue tells its metrics. */
export interface QueueObserver {
  added?(key: string): void;
  retried?(key: string): void;
  /** A worker took `key` after it waited `waitedMs` in the queue. */
  started?(key: string, waitedMs: number): void;
  /** A worker finished `key` after `workedMs`. */
  finished?(key: string, workedMs: number): void;
}

export interface WorkQueueOptions {
  readonly backoff?: BackoffPolicy;
  readonly clock?: Clock;
  readonly random?: () => number;
  readonly observer?: QueueObserver;
}

export class WorkQueue {
  private readonly ready: string[] = [];
  /** Keys that must be processed (queued, or re-queued when their worker is done). */
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly queuedAt = new Map<string, number>();
  private readonly startedAt = new Map<string, number>();
  private readonly delayed = new Map<string, { readonly at: number; readonly timer: Timer }>();
  private readonly failures = new Map<string, number>();
  private readonly waiters: Array<(key: string | undefined) => void> = [];
  private closed = false;
  private readonly backoff: BackoffPolicy;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly observer: QueueObserver;

  constructor(options: WorkQueueOptions = {}) {
    this.backoff = options.backoff ?? QUEUE_BACKOFF;
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    this.observer = options.observer ?? {};
  }

  /** Queues `key` now, unless it is queued already. */
  add(key: string): void {
    if (this.closed || this.dirty.has(key)) return;
    this.observer.added?.(key);
    this.dirty.add(key);
    this.queuedAt.set(key, this.clock.now());
    if (this.processing.has(key)) return;
    const waiter = this.waiters.shift();
    if (waiter) this.hand(key, waiter);
    else this.ready.push(key);
  }

  /** Queues `key` after `ms`; of two pending delays for one key the earlier wins. */
  addAfter(key: string, ms: number): void {
    if (this.closed) return;
    if (ms <= 0) {
      this.add(key);
      return;
    }
    const at = this.clock.now() + ms;
    const pending = this.delayed.get(key);
    if (pending && pending.at <= at) return;
    pending?.timer.cancel();
    const timer = this.clock.setTimer(() => {
      this.delayed.delete(key);
      this.add(key);
    }, ms);
    this.delayed.set(key, { at, timer });
  }

  /** Queues `key` after its backoff, which doubles with each call until `forget(key)`. */
  addRateLimited(key: string): void {
    const attempt = this.failures.get(key) ?? 0;
    this.failures.set(key, attempt + 1);
    this.observer.retried?.(key);
    this.addAfter(key, backoffDelay(this.backoff, attempt, this.random));
  }

  /** Resets the backoff of `key` (after a success, or when retrying is pointless). */
  forget(key: string): void {
    this.failures.delete(key);
  }

  /** Consecutive `addRateLimited` calls since the last `forget`. */
  retries(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  /**
   * The next key to process, once there is one; `undefined` when the queue is shut down
   * (or `signal` aborts). The caller must call `done(key)` when it has finished.
   */
  get(signal?: AbortSignal): Promise<string | undefined> {
    if (this.closed || signal?.aborted) return Promise.resolve(undefined);
    const key = this.ready.shift();
    if (key !== undefined) return Promise.resolve(this.take(key));
    return new Promise((resolve) => {
      const waiter = (next: string | undefined): void => {
        signal?.removeEventListener('abort', onAbort);
        resolve(next);
      };
      const onAbort = (): void => {
        const at = this.waiters.indexOf(waiter);
        if (at >= 0) this.waiters.splice(at, 1);
        resolve(undefined);
      };
      this.waiters.push(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Marks `key` finished; if it was added meanwhile, it is queued again. */
  done(key: string): void {
    if (!this.processing.delete(key)) return;
    const began = this.startedAt.get(key);
    this.startedAt.delete(key);
    if (began !== undefined) this.observer.finished?.(key, this.clock.now() - began);
    if (!this.dirty.has(key) || this.closed) return;
    const waiter = this.waiters.shift();
    if (waiter) this.hand(key, waiter);
    else this.ready.push(key);
  }

  /** Stops handing out keys: waiting `get()` calls resolve `undefined`; pending delays are dropped. */
  shutDown(): void {
    this.closed = true;
    for (const { timer } of this.delayed.values()) timer.cancel();
    this.delayed.clear();
    for (const waiter of this.waiters.splice(0)) waiter(undefined);
  }

  /** Keys waiting for a worker (the workqueue_depth metric). */
  get length(): number {
    return this.ready.length;
  }

  /** Keys a worker holds right now. */
  get inFlight(): number {
    return this.processing.size;
  }

  /** How long the longest-running key has been held, in ms (0 when idle). */
  longestRunningMs(): number {
    const now = this.clock.now();
    return Math.max(0, ...[...this.startedAt.values()].map((began) => now - began));
  }

  private hand(key: string, waiter: (key: string | undefined) => void): void {
    waiter(this.take(key));
  }

  private take(key: string): string {
    this.dirty.delete(key);
    this.processing.add(key);
    const now = this.clock.now();
    this.startedAt.set(key, now);
    this.observer.started?.(key, now - (this.queuedAt.get(key) ?? now));
    this.queuedAt.delete(key);
    return key;
  }
}
