/**
 * A debouncer: many calls of `touch()` in a burst become one call of `fire`, made once no
 * touch came for `quietMs`, and at the latest `maxWaitMs` after the first touch of the burst
 * (so that a stream of changes that never pauses is still acted on). Time comes from the
 * injected clock, so tests run it in virtual time. Nothing is scheduled before `touch()`.
 */
import type { Clock, Timer } from './clock.ts';

export interface DebounceOptions {
  readonly clock: Clock;
  readonly quietMs: number;
  readonly maxWaitMs: number;
  readonly fire: () => void;
}

export class Debouncer {
  private readonly options: DebounceOptions;
  private timer: Timer | undefined;
  private firstAt: number | undefined;

  constructor(options: DebounceOptions) {
    this.options = options;
  }

  /** Something changed: fire after the quiet period (at once when it is 0). */
  touch(): void {
    const { clock, quietMs, maxWaitMs } = this.options;
    if (quietMs <= 0) {
      this.flush();
      return;
    }
    const now = clock.now();
    this.firstAt ??= now;
    this.timer?.cancel();
    const due = Math.min(now + quietMs, this.firstAt + Math.max(quietMs, maxWaitMs));
    this.timer = clock.setTimer(() => { this.flush(); }, Math.max(0, due - now));
  }

  /** True while a burst waits to fire. */
  get pending(): boolean {
    return this.timer !== undefined;
  }

  /** Drops a pending burst without firing (on shutdown). */
  cancel(): void {
    this.timer?.cancel();
    this.timer = undefined;
    this.firstAt = undefined;
  }

  private flush(): void {
    this.cancel();
    this.options.fire();
  }
}
