/** The debouncer of Node changes, in virtual time. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Debouncer } from '../../../src/controller/debounce.ts';
import { FakeClock } from '../../support/fake-clock.ts';

function setup(quietMs: number, maxWaitMs: number): { clock: FakeClock; debouncer: Debouncer; fired: number[] } {
  const clock = new FakeClock(0);
  const fired: number[] = [];
  const debouncer = new Debouncer({ clock, quietMs, maxWaitMs, fire: () => { fired.push(clock.now()); } });
  return { clock, debouncer, fired };
}

describe('the debouncer', () => {
  test('schedules nothing before the first touch', () => {
    const { clock, debouncer } = setup(2000, 10_000);
    assert.equal(clock.pending, 0);
    assert.equal(debouncer.pending, false);
  });

  test('folds a burst into one call, made once the changes paused', () => {
    const { clock, debouncer, fired } = setup(2000, 10_000);
    for (let i = 0; i < 100; i++) {
      debouncer.touch();
      clock.advance(10);
    }
    assert.deepEqual(fired, []);
    clock.advance(2000);
    assert.deepEqual(fired, [2990]);
    assert.equal(clock.pending, 0);
  });

  test('acts on a stream that never pauses at the latest after the longest wait', () => {
    const { clock, debouncer, fired } = setup(2000, 10_000);
    for (let t = 0; t < 30_000; t += 1000) {
      debouncer.touch();
      clock.advance(1000);
    }
    clock.advance(5000);
    assert.deepEqual(fired, [10_000, 20_000, 30_000], 'every 10 s, the last one covering the last change');
  });

  test('fires again for a change after a call', () => {
    const { clock, debouncer, fired } = setup(2000, 10_000);
    debouncer.touch();
    clock.advance(3000);
    debouncer.touch();
    clock.advance(3000);
    assert.deepEqual(fired, [2000, 5000]);
  });

  test('with a quiet time of 0, fires on every touch', () => {
    const { clock, debouncer, fired } = setup(0, 0);
    debouncer.touch();
    debouncer.touch();
    assert.deepEqual(fired, [0, 0]);
    assert.equal(clock.pending, 0);
  });

  test('drops a pending burst on cancel', () => {
    const { clock, debouncer, fired } = setup(2000, 10_000);
    debouncer.touch();
    debouncer.cancel();
    clock.advance(20_000);
    assert.deepEqual(fired, []);
    assert.equal(debouncer.pending, false);
  });
});
