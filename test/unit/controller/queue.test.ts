/** The work queue in virtual time: dedup, one worker per key, backoff, delays, shutdown. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { WorkQueue } from '../../../src/controller/queue.ts';
import { FakeClock } from '../../support/fake-clock.ts';

function queue(clock = new FakeClock()): { q: WorkQueue; clock: FakeClock } {
  return { q: new WorkQueue({ clock, backoff: { initialMs: 100, maxMs: 1000, factor: 2, jitter: 0 } }), clock };
}

/** The keys the queue would hand out now, without waiting. */
async function drain(q: WorkQueue): Promise<string[]> {
  const taken: string[] = [];
  while (q.length > 0) {
    const key = await q.get();
    if (key === undefined) break;
    taken.push(key);
  }
  return taken;
}

describe('the work queue', () => {
  test('hands out keys in the order they were first added, each once', async () => {
    const { q } = queue();
    q.add('a');
    q.add('b');
    q.add('a');
    assert.equal(q.length, 2);
    assert.deepEqual(await drain(q), ['a', 'b']);
  });

  test('never gives one key to two workers: a key added while held comes back after done()', async () => {
    const { q } = queue();
    q.add('a');
    const first = await q.get();
    q.add('a');
    q.add('a');
    assert.equal(q.length, 0, 'not handed out while a worker holds it');
    q.done(first!);
    assert.equal(q.length, 1, 'queued again, once');
    assert.equal(await q.get(), 'a');
  });

  test('a key that is done without being added again is gone', async () => {
    const { q } = queue();
    q.add('a');
    q.done((await q.get())!);
    assert.equal(q.length, 0);
    assert.equal(q.inFlight, 0);
  });

  test('wakes a waiting worker when a key arrives', async () => {
    const { q } = queue();
    const waiting = q.get();
    q.add('late');
    assert.equal(await waiting, 'late');
  });

  test('retries with a per-key backoff that doubles and is reset by forget()', async () => {
    const { q, clock } = queue();
    q.addRateLimited('a');
    clock.advance(99);
    assert.equal(q.length, 0, 'not before 100 ms');
    clock.advance(1);
    assert.deepEqual(await drain(q), ['a']);
    q.done('a');

    q.addRateLimited('a');
    clock.advance(199);
    assert.equal(q.length, 0, 'the second retry waits 200 ms');
    clock.advance(1);
    assert.deepEqual(await drain(q), ['a']);
    q.done('a');
    assert.equal(q.retries('a'), 2);

    q.forget('a');
    q.addRateLimited('a');
    clock.advance(100);
    assert.deepEqual(await drain(q), ['a'], 'back to 100 ms after forget');
  });

  test('caps the backoff', async () => {
    const { q, clock } = queue();
    for (let failure = 0; failure < 12; failure++) {
      q.addRateLimited('c');
      clock.advance(1000);
      q.done((await q.get())!);
    }
    q.addRateLimited('c');
    clock.advance(999);
    assert.equal(q.length, 0);
    clock.advance(1);
    assert.equal(q.length, 1, 'the thirteenth retry waits the 1000 ms cap, not 100 * 2^12 ms');
  });

  test('keeps the earlier of two delays for the same key', async () => {
    const { q, clock } = queue();
    q.addAfter('a', 500);
    q.addAfter('a', 2000);
    clock.advance(500);
    assert.deepEqual(await drain(q), ['a']);
    q.done('a');
    clock.advance(5000);
    assert.equal(q.length, 0, 'the later delay was dropped');
  });

  test('an earlier delay replaces a later one', async () => {
    const { q, clock } = queue();
    q.addAfter('a', 2000);
    q.addAfter('a', 100);
    clock.advance(100);
    assert.deepEqual(await drain(q), ['a']);
    assert.equal(clock.pending, 0);
  });

  test('folds a delayed key into the same key queued meanwhile', async () => {
    const { q, clock } = queue();
    q.add('a');
    q.addAfter('a', 100);
    clock.advance(100);
    assert.deepEqual(await drain(q), ['a']);
  });

  test('shutDown wakes waiting workers with undefined and drops pending delays', async () => {
    const { q, clock } = queue();
    const waiting = q.get();
    q.addAfter('a', 100);
    q.shutDown();
    assert.equal(await waiting, undefined);
    clock.advance(1000);
    assert.equal(q.length, 0);
    assert.equal(await q.get(), undefined);
    q.add('b');
    assert.equal(q.length, 0, 'nothing is queued after shutdown');
  });

  test('an aborted get() gives up without taking a key', async () => {
    const { q } = queue();
    const abort = new AbortController();
    const waiting = q.get(abort.signal);
    abort.abort();
    assert.equal(await waiting, undefined);
    q.add('a');
    assert.equal(q.length, 1, 'the key waits for the next worker');
  });

  test('tells its observer how long keys waited and worked', async () => {
    const clock = new FakeClock();
    const seen: string[] = [];
    const q = new WorkQueue({
      clock,
      observer: {
        added: (k) => seen.push(`added ${k}`),
        started: (k, ms) => seen.push(`started ${k} after ${ms}`),
        finished: (k, ms) => seen.push(`finished ${k} in ${ms}`),
      },
    });
    q.add('a');
    clock.advance(30);
    const key = await q.get();
    clock.advance(70);
    assert.equal(q.longestRunningMs(), 70);
    q.done(key!);
    assert.deepEqual(seen, ['added a', 'started a after 30', 'finished a in 70']);
  });
});
