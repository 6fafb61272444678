/** The restart delays of a serving thread that dies: they grow while it keeps dying and start over once it served a while. Time is virtual, jitter off. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RestartPolicy } from '../../../../src/resolver/serve/restart-policy.ts';

const policy = { initialMs: 1000, maxMs: 8000, factor: 2, jitter: 0 };

test('a thread that dies again and again waits longer each time, up to the cap', () => {
  const restarts = new RestartPolicy(policy, 60_000);
  const delays: number[] = [];
  let now = 0;
  for (let i = 0; i < 6; i++) {
    delays.push(restarts.exited(1, now));
    now += 2000;
    // It listens each time and is killed two seconds later (a message that kills it on arrival).
    restarts.listening(1, now);
    now += 2000;
  }
  assert.deepEqual(delays, [1000, 2000, 4000, 8000, 8000, 8000]);
});

test('a thread that served for the stable period starts again after the first step', () => {
  const rows: Array<[string, number, number]> = [
    ['died 59 s after listening', 59_000, 2000],
    ['died 60 s after listening', 60_000, 1000],
    ['died an hour after listening', 3_600_000, 1000],
  ];
  for (const [what, servedMs, expected] of rows) {
    const restarts = new RestartPolicy(policy, 60_000);
    assert.equal(restarts.exited(1, 0), 1000);
    restarts.listening(1, 1000);
    assert.equal(restarts.exited(1, 1000 + servedMs), expected, what);
  }
});

test('a thread that dies before it listens does not count as stable', () => {
  const restarts = new RestartPolicy(policy, 60_000);
  restarts.listening(1, 0);
  assert.equal(restarts.exited(1, 100_000), 1000);
  assert.equal(restarts.exited(1, 300_000), 2000, 'no listening between the two exits');
});

test('each thread has a backoff of its own', () => {
  const restarts = new RestartPolicy(policy, 60_000);
  assert.equal(restarts.exited(1, 0), 1000);
  assert.equal(restarts.exited(1, 10), 2000);
  assert.equal(restarts.exited(2, 20), 1000);
});
