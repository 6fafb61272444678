/**
 * How many serving threads a resolver runs. Pure: the caller measures the process.
 *
 * `threads: auto` means one per core the process is given, at most MAX_AUTO_THREADS, and
 * no more than its memory limit holds. Threads share the index (cluster-index.ts), but each
 * is an isolate of its own with its own heap, which costs about PER_THREAD_BYTES under load
 * (bench/RESULTS.md). So the resolver starts with the main thread, and once the index is
 * synced (the largest part of its memory) it starts as many more as fit beside what the
 * process already holds, the caches and buffers it may still fill, and a margin for the
 * garbage collector. An instance whose cluster has outgrown its limit thus runs fewer
 * threads instead of being OOM-killed. A number set in the config is always used as is.
 */

/** `threads: auto` uses at most this many: a pod's query rate rarely needs more (bench/RESULTS.md). */
export const MAX_AUTO_THREADS = 4;

/** What one more serving thread adds to the process's memory under load: its isolate, heap and code. */
export const PER_THREAD_BYTES = 32 * 1024 * 1024;

/** The part of the limit kept free for the garbage collector's peaks and the kernel's socket buffers. */
export const LIMIT_MARGIN = 0.15;

/**
 * The most serving threads the config allows: its number, or one per core the process is
 * given, at most MAX_AUTO_THREADS. Memory bounds (caches, TCP buffers) are shared out over
 * this many, so they hold however many start.
 */
export function mostThreads(threads: number | 'auto', cores: number): number {
  return threads === 'auto' ? Math.min(MAX_AUTO_THREADS, Math.max(1, cores)) : threads;
}

export interface ThreadBudget {
  /** mostThreads() of the config. */
  readonly most: number;
  /** The process's memory limit (its cgroup's), undefined when it has none. */
  readonly limitBytes: number | undefined;
  /** What the process holds now, with its index synced (its anonymous memory: what the limit is charged for). */
  readonly heldBytes: number;
  /** What the process may still fill whatever the threads: its upstream caches and TCP buffers at their bounds. */
  readonly reservedBytes: number;
}

export interface ThreadChoice {
  readonly threads: number;
  /** Why not `most`, for the log; undefined when it is `most`. */
  readonly reason: string | undefined;
}

/** The serving threads to run, the main thread's included (always at least one). */
export function autoThreads(budget: ThreadBudget): ThreadChoice {
  const { most, limitBytes } = budget;
  if (limitBytes === undefined || most <= 1) return { threads: most, reason: undefined };
  const free = limitBytes * (1 - LIMIT_MARGIN) - budget.heldBytes - budget.reservedBytes;
  const fit = 1 + Math.max(0, Math.floor(free / PER_THREAD_BYTES));
  if (fit >= most) return { threads: most, reason: undefined };
  const mib = (bytes: number): number => Math.round(bytes / 2 ** 20);
  return {
    threads: fit,
    reason: `the memory limit of ${mib(limitBytes)} MiB holds ${fit} (the process holds ${mib(budget.heldBytes)} MiB with its index synced, `
      + `its caches and buffers may take ${mib(budget.reservedBytes)} MiB more, each thread adds about ${mib(PER_THREAD_BYTES)} MiB)`,
  };
}

/**
 * The memory limit of the process's cgroup, from the text of cgroup v2's `memory.max`
 * ("max" or bytes) or else cgroup v1's `memory.limit_in_bytes` (a huge number when unlimited).
 */
export function memoryLimit(v2: string | undefined, v1: string | undefined): number | undefined {
  const bytes = (text: string | undefined): number | undefined => {
    const match = /^\s*(\d+)\s*$/.exec(text ?? '');
    return match ? Number(match[1]) : undefined;
  };
  const limit = v2 !== undefined ? bytes(v2) : bytes(v1);
  // cgroup v1 says "unlimited" with the largest page-aligned 64-bit number.
  return limit !== undefined && limit < 2 ** 60 ? limit : undefined;
}
