/** Virtual time for tests of the queue, leader election and anything else that takes a Clock. */
import type { Clock, Timer } from '../../src/controller/clock.ts';

export class FakeClock implements Clock {
  private current: number;
  private timers: Array<{ at: number; fire: () => void; cancelled: boolean }> = [];

  constructor(start = 1_000_000) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  setTimer(fire: () => void, ms: number): Timer {
    const timer = { at: this.current + ms, fire, cancelled: false };
    this.timers.push(timer);
    return { cancel: () => { timer.cancelled = true; } };
  }

  /** Moves time forward, firing every timer that falls due on the way, in order. */
  advance(ms: number): void {
    const end = this.current + ms;
    for (;;) {
      const due = this.timers.filter((t) => !t.cancelled && t.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.current = due.at;
      due.cancelled = true;
      due.fire();
    }
    this.current = end;
    this.timers = this.timers.filter((t) => !t.cancelled);
  }

  /** Timers still waiting to fire. */
  get pending(): number {
    return this.timers.filter((t) => !t.cancelled).length;
  }
}
