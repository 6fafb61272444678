/**
 * Extra serving threads, so that the resolver uses every core it is given.
 *
 * Each thread (thread-main.ts) binds the DNS port with SO_REUSEPORT, next to the main
 * thread's sockets, and the kernel spreads queries over them. The apiserver sees one set of
 * watches whatever the number of threads: the main thread watches, and every thread reads
 * the same shared tables of the index (cluster-index.ts), so a thread adds its isolate's
 * memory but no copy of the cluster; the main thread passes on each change and each new
 * table. A thread that dies is started again with the main thread's index,
 * after a backoff that grows while it keeps dying (restart-policy.ts; counted in
 * `clusterdns_resolver_thread_restarts_total`); the other threads, the main thread's among
 * them, go on serving meanwhile. /metrics adds up every thread's counters at scrape time.
 */
import { Worker } from 'node:worker_threads';
import type { ResolverConfig } from '../../api/resolver-config.ts';
import type { Logger } from '../../kube/log.ts';
import type { IndexUpdate } from '../cluster/cluster-index.ts';
import type { StatsSnapshot } from '../metrics/query-stats.ts';
import type { ResolverMetrics } from '../metrics/registry.ts';
import type { ShadowSnapshot } from '../shadow/stats.ts';
import type { ServerAddress } from '../upstream/routes.ts';
import { RestartPolicy } from './restart-policy.ts';

export interface ThreadData {
  readonly config: ResolverConfig;
  /** The `server` label of the metrics. */
  readonly server: string;
  readonly upstreams: readonly ServerAddress[];
  readonly localAddresses: readonly string[];
  /** Serving threads in the process, the main thread's included. */
  readonly threads: number;
}

export type ToThread =
  | IndexUpdate
  | { readonly type: 'stats'; readonly id: number }
  | { readonly type: 'stop' };

export type ToMain =
  | { readonly type: 'listening' }
  | { readonly type: 'stats'; readonly id: number; readonly snapshot: StatsSnapshot; readonly shadow?: ShadowSnapshot }
  | { readonly type: 'log'; readonly level: 'error' | 'warn'; readonly fields: object; readonly message: string };

export interface ServingThreadsOptions {
  readonly data: ThreadData;
  readonly log: Logger;
  readonly metrics: ResolverMetrics;
  /** The index as updates (its shared tables and the changes over them), for a thread that starts after the watches did. */
  readonly snapshot: () => readonly IndexUpdate[];
  readonly restarts?: RestartPolicy;
  readonly now?: () => number;
  /** Takes a thread's shadow counts (with shadowing on), collected with its other counters. */
  readonly onShadow?: (source: string, snapshot: ShadowSnapshot) => void;
}

const SCRIPT = new URL(import.meta.url.endsWith('.ts') ? './thread-main.ts' : './thread-main.js', import.meta.url);
const STATS_TIMEOUT_MS = 1000;

export class ServingThreads {
  private readonly options: ServingThreadsOptions;
  private readonly workers = new Map<number, Worker>();
  private readonly pendingStats = new Map<number, (reply: Extract<ToMain, { type: 'stats' }>) => void>();
  private readonly restarts: RestartPolicy;
  private readonly now: () => number;
  private nextRequest = 0;
  private stopping = false;

  constructor(options: ServingThreadsOptions) {
    this.options = options;
    this.restarts = options.restarts ?? new RestartPolicy();
    this.now = options.now ?? Date.now;
  }

  /** Starts `count` threads and resolves once each listens. */
  async start(count: number): Promise<void> {
    await Promise.all(Array.from({ length: count }, (_, i) => this.spawn(i + 1)));
  }

  /** Passes a watch event or a new shared table to every thread (a table's memory is shared, not copied). */
  broadcast(update: IndexUpdate): void {
    for (const worker of this.workers.values()) worker.postMessage(update satisfies ToThread);
  }

  /** Asks every thread for its counters and hands them to the metrics (a thread that does not answer in time is skipped). */
  async collect(): Promise<void> {
    await Promise.all([...this.workers].map(async ([thread, worker]) => {
      const id = this.nextRequest++;
      const reply = await new Promise<Extract<ToMain, { type: 'stats' }> | undefined>((resolve) => {
        const timer = setTimeout(() => {
          this.pendingStats.delete(id);
          resolve(undefined);
        }, STATS_TIMEOUT_MS);
        this.pendingStats.set(id, (r) => {
          clearTimeout(timer);
          resolve(r);
        });
        worker.postMessage({ type: 'stats', id } satisfies ToThread);
      });
      if (reply) this.options.metrics.absorb(`thread-${thread}`, reply.snapshot);
      if (reply?.shadow) this.options.onShadow?.(`thread-${thread}`, reply.shadow);
    }));
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all([...this.workers.values()].map(async (worker) => {
      const exited = new Promise((resolve) => worker.once('exit', resolve));
      worker.postMessage({ type: 'stop' } satisfies ToThread);
      const timer = setTimeout(() => { void worker.terminate(); }, 5000);
      await exited;
      clearTimeout(timer);
    }));
    this.workers.clear();
  }

  private spawn(thread: number): Promise<void> {
    const { log } = this.options;
    const worker = new Worker(SCRIPT, { workerData: this.options.data });
    this.workers.set(thread, worker);
    for (const update of this.options.snapshot()) worker.postMessage(update satisfies ToThread);
    return new Promise((resolve, reject) => {
      worker.on('message', (message: ToMain) => {
        switch (message.type) {
          case 'listening':
            this.restarts.listening(thread, this.now());
            resolve();
            break;
          case 'stats':
            this.pendingStats.get(message.id)?.(message);
            this.pendingStats.delete(message.id);
            break;
          case 'log':
            log[message.level]({ ...message.fields, thread }, message.message);
            break;
        }
      });
      worker.on('error', (error: unknown) => {
        const failure = error instanceof Error ? error : new Error(String(error));
        log.error({ thread, err: failure.message }, 'serving thread failed');
        reject(failure);
      });
      worker.on('exit', (code) => {
        if (this.workers.get(thread) === worker) this.workers.delete(thread);
        if (this.stopping) return;
        const delayMs = this.restarts.exited(thread, this.now());
        this.options.metrics.threadRestarted();
        log.error({ thread, code, delayMs }, 'serving thread exited; starting it again');
        setTimeout(() => { if (!this.stopping) this.spawn(thread).catch(() => undefined); }, delayMs).unref();
      });
    });
  }
}
