/**
 * The operator process as a manager of Runnables, after controller-runtime's manager:
 * runnables that do not need leader election (the webhook server, health and metrics) start
 * at once on every replica; the others start only once this replica leads. Losing the lead
 * stops everything and makes `start()` reject, so that the process exits non-zero and a new
 * one competes afresh, as controller-runtime does; a runnable that fails does the same.
 */
import type { Logger } from '../kube/log.ts';
import { whenAborted } from './clock.ts';
import type { Runnable } from './runnable.ts';

/** Leader election as the manager uses it. */
export interface Elector {
  readonly identity: string;
  /** Resolves true once this replica leads, false if `signal` aborted first. */
  acquire(signal: AbortSignal): Promise<boolean>;
  /** Renews while leading; resolves when the lead is lost or `signal` aborts. */
  keepLeading(signal: AbortSignal): Promise<void>;
  /** Gives the lead up at once (clean shutdown). */
  release(): Promise<void>;
}

export class LeadershipLostError extends Error {
  constructor(identity: string) {
    super(`leadership lost by ${identity}: stopping so that a new process can compete again`);
    this.name = 'LeadershipLostError';
  }
}

/** A runnable that rejected. */
export class RunnableError extends Error {
  constructor(name: string, cause: unknown) {
    super(`${name} failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'RunnableError';
  }
}

export interface ManagerOptions {
  readonly log: Logger;
  /** Absent: no leader election; every runnable starts at once. */
  readonly elector?: Elector;
  /** Told when this replica starts and stops leading. */
  readonly onLeading?: (leading: boolean) => void;
  /** How long runnables get to stop after the signal; then the manager returns anyway. */
  readonly shutdownTimeoutMs?: number;
}

export class Manager {
  private readonly options: ManagerOptions;
  private readonly runnables: Runnable[] = [];
  private state: 'new' | 'running' | 'done' = 'new';
  private everyReplicaStarted = false;

  constructor(options: ManagerOptions) {
    this.options = options;
  }

  /** Adds a runnable; only before `start()`. */
  add(runnable: Runnable): void {
    if (this.state !== 'new') throw new Error(`cannot add ${runnable.name}: the manager has started`);
    this.runnables.push(runnable);
  }

  /** True once the runnables of every replica are running (for readiness). */
  get started(): boolean {
    return this.everyReplicaStarted;
  }

  /**
   * Runs until `signal` aborts (resolves once the runnables stopped), or rejects with
   * LeadershipLostError or the RunnableError of the first runnable that failed.
   */
  async start(signal: AbortSignal): Promise<void> {
    if (this.state !== 'new') throw new Error('a manager starts once');
    this.state = 'running';
    const { log, elector, onLeading } = this.options;
    const stop = new AbortController();
    let failure: Error | undefined;
    const fail = (error: Error): void => {
      failure ??= error;
      stop.abort();
    };
    const onSignal = (): void => { stop.abort(); };
    signal.addEventListener('abort', onSignal, { once: true });
    if (signal.aborted) stop.abort();

    const running: Array<Promise<void>> = [];
    const launch = (runnable: Runnable): void => {
      log.info({ runnable: runnable.name }, 'starting');
      running.push(runnable.start(stop.signal).then(
        () => { log.info({ runnable: runnable.name }, 'stopped'); },
        (error: unknown) => { fail(new RunnableError(runnable.name, error)); },
      ));
    };
    for (const runnable of this.runnables.filter((r) => !r.needLeaderElection)) launch(runnable);
    this.everyReplicaStarted = true;

    let led = false;
    if (!elector) {
      for (const runnable of this.runnables.filter((r) => r.needLeaderElection)) launch(runnable);
    } else if (await elector.acquire(stop.signal) && !stop.signal.aborted) {
      led = true;
      onLeading?.(true);
      log.info({ identity: elector.identity }, 'leading: starting the leader-only runnables');
      for (const runnable of this.runnables.filter((r) => r.needLeaderElection)) launch(runnable);
      await elector.keepLeading(stop.signal);
      // keepLeading also returns on shutdown; only a return without one means the lead was lost.
      if (!(stop.signal.aborted as boolean)) fail(new LeadershipLostError(elector.identity));
    }
    await whenAborted(stop.signal);
    await this.settle(running);
    if (led) {
      onLeading?.(false);
      if (!(failure instanceof LeadershipLostError)) await elector?.release();
    }
    signal.removeEventListener('abort', onSignal);
    this.state = 'done';
    if (failure) throw failure;
  }

  private async settle(running: ReadonlyArray<Promise<void>>): Promise<void> {
    const timeoutMs = this.options.shutdownTimeoutMs ?? 30_000;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => { timer = setTimeout(() => { resolve('timeout'); }, timeoutMs); });
    const outcome = await Promise.race([Promise.all(running), timedOut]);
    clearTimeout(timer);
    if (outcome === 'timeout') this.options.log.warn({ timeoutMs }, 'runnables did not stop in time; exiting anyway');
  }
}
