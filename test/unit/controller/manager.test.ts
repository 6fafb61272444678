/** The manager: which runnables start when, and how leadership and failures end a run. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { pino } from 'pino';
import { whenAborted } from '../../../src/controller/clock.ts';
import { LeadershipLostError, Manager, RunnableError } from '../../../src/controller/manager.ts';
import type { Elector } from '../../../src/controller/manager.ts';
import type { Runnable } from '../../../src/controller/runnable.ts';

const log = pino({ level: 'silent' });

/** A runnable that records its life and runs until its signal aborts (or fails when told). */
class Probe implements Runnable {
  readonly name: string;
  readonly needLeaderElection: boolean;
  readonly events: string[] = [];
  private failWith: ((error: Error) => void) | undefined;

  constructor(name: string, needLeaderElection: boolean, events: string[]) {
    this.name = name;
    this.needLeaderElection = needLeaderElection;
    this.events = events;
  }

  async start(signal: AbortSignal): Promise<void> {
    this.events.push(`${this.name} started`);
    await new Promise<void>((resolve, reject) => {
      this.failWith = reject;
      void whenAborted(signal).then(resolve);
    });
    this.events.push(`${this.name} stopped`);
  }

  fail(error: Error): void {
    this.failWith?.(error);
  }
}

/** An elector the test drives: it grants and takes away the lead on command. */
class ManualElector implements Elector {
  readonly identity = 'test';
  released = false;
  private grant: ((leading: boolean) => void) | undefined;
  private lose: (() => void) | undefined;

  acquire(signal: AbortSignal): Promise<boolean> {
    return new Promise((resolve) => {
      this.grant = resolve;
      void whenAborted(signal).then(() => { resolve(false); });
    });
  }

  keepLeading(signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      this.lose = resolve;
      void whenAborted(signal).then(resolve);
    });
  }

  release(): Promise<void> {
    this.released = true;
    return Promise.resolve();
  }

  elect(): void { this.grant?.(true); }
  depose(): void { this.lose?.(); }
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('the manager', () => {
  test('starts every-replica runnables at once and leader runnables only once it leads', async () => {
    const events: string[] = [];
    const elector = new ManualElector();
    const manager = new Manager({ log, elector });
    manager.add(new Probe('webhook', false, events));
    manager.add(new Probe('controller', true, events));
    const stop = new AbortController();
    const running = manager.start(stop.signal);
    await tick();
    assert.deepEqual(events, ['webhook started']);
    assert.ok(manager.started);
    elector.elect();
    await tick();
    assert.deepEqual(events, ['webhook started', 'controller started']);
    stop.abort();
    await running;
    assert.deepEqual(events.slice(2).sort(), ['controller stopped', 'webhook stopped']);
    assert.ok(elector.released, 'a clean stop hands the Lease over');
  });

  test('stops everything and rejects when the lead is lost', async () => {
    const events: string[] = [];
    const elector = new ManualElector();
    const leading: boolean[] = [];
    const manager = new Manager({ log, elector, onLeading: (l) => leading.push(l) });
    manager.add(new Probe('webhook', false, events));
    manager.add(new Probe('controller', true, events));
    const running = manager.start(new AbortController().signal);
    await tick();
    elector.elect();
    await tick();
    elector.depose();
    await assert.rejects(running, LeadershipLostError);
    assert.deepEqual(events.filter((e) => e.endsWith('stopped')).sort(), ['controller stopped', 'webhook stopped']);
    assert.deepEqual(leading, [true, false]);
    assert.equal(elector.released, false, 'a lost Lease is not ours to release');
  });

  test('stops everything and rejects with the failure when a runnable fails', async () => {
    const events: string[] = [];
    const manager = new Manager({ log });
    const failing = new Probe('webhook', false, events);
    manager.add(failing);
    manager.add(new Probe('controller', true, events));
    const running = manager.start(new AbortController().signal);
    await tick();
    assert.deepEqual(events, ['webhook started', 'controller started'], 'without an elector every runnable starts at once');
    failing.fail(new Error('port in use'));
    await assert.rejects(running, (error: unknown) => error instanceof RunnableError && /webhook failed: port in use/.test(error.message));
    assert.deepEqual(events.slice(2), ['controller stopped']);
  });

  test('a replica that never leads never starts the leader runnables', async () => {
    const events: string[] = [];
    const manager = new Manager({ log, elector: new ManualElector() });
    manager.add(new Probe('controller', true, events));
    const stop = new AbortController();
    const running = manager.start(stop.signal);
    await tick();
    stop.abort();
    await running;
    assert.deepEqual(events, []);
  });

  test('takes no runnables after it started, and starts once', async () => {
    const manager = new Manager({ log });
    const stop = new AbortController();
    stop.abort();
    await manager.start(stop.signal);
    assert.throws(() => { manager.add(new Probe('late', false, [])); }, /has started/);
    await assert.rejects(manager.start(stop.signal), /starts once/);
  });
});
