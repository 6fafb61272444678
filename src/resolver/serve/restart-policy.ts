/**
 * When to start a serving thread again after it died: a backoff per thread that grows while
 * the thread keeps dying, and is forgotten only once it has served for a while (as the
 * kubelet forgets a container's CrashLoopBackOff after it ran for ten minutes). Forgetting
 * it as soon as the thread listens would make it a fixed delay for a thread that a message
 * kills every time, right after it starts. Pure: time is passed in.
 */
import { Backoff } from '../../kube/backoff.ts';
import type { BackoffPolicy } from '../../kube/backoff.ts';

/** About a second at first, doubling up to 30 s. */
export const RESTART_BACKOFF: BackoffPolicy = { initialMs: 1000, maxMs: 30_000, factor: 2, jitter: 0.2 };
/** A thread that listened this long before it died starts again after the first step. */
export const STABLE_MS = 60_000;

export class RestartPolicy {
  private readonly threads = new Map<number, { readonly backoff: Backoff; listeningSince: number | undefined }>();
  private readonly policy: BackoffPolicy;
  private readonly stableMs: number;
  private readonly random: () => number;

  constructor(policy: BackoffPolicy = RESTART_BACKOFF, stableMs: number = STABLE_MS, random: () => number = Math.random) {
    this.policy = policy;
    this.stableMs = stableMs;
    this.random = random;
  }

  /** The thread listens (again) from `now`. */
  listening(thread: number, now: number): void {
    this.of(thread).listeningSince = now;
  }

  /** The thread died at `now`: the delay before starting it again. */
  exited(thread: number, now: number): number {
    const state = this.of(thread);
    if (state.listeningSince !== undefined && now - state.listeningSince >= this.stableMs) state.backoff.reset();
    state.listeningSince = undefined;
    return state.backoff.next();
  }

  private of(thread: number): { readonly backoff: Backoff; listeningSince: number | undefined } {
    let state = this.threads.get(thread);
    if (!state) {
      state = { backoff: new Backoff(this.policy, this.random), listeningSince: undefined };
      this.threads.set(thread, state);
    }
    return state;
  }
}
