import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Backoff, backoffDelay } from '../../../src/kube/backoff.ts';
import { Store } from '../../../src/kube/store.ts';

describe('backoff', () => {
  const policy = { initialMs: 100, maxMs: 1000, factor: 2, jitter: 0 };

  test('doubles from the initial delay up to the cap', () => {
    assert.deepEqual([0, 1, 2, 3, 4, 5].map((n) => backoffDelay(policy, n)), [100, 200, 400, 800, 1000, 1000]);
  });

  test('jitter only ever shortens the delay', () => {
    assert.equal(backoffDelay({ ...policy, jitter: 0.5 }, 1, () => 1), 100);
    assert.equal(backoffDelay({ ...policy, jitter: 0.5 }, 1, () => 0), 200);
  });

  test('starts over after reset', () => {
    const backoff = new Backoff(policy);
    backoff.next();
    backoff.next();
    backoff.reset();
    assert.equal(backoff.next(), 100);
  });
});

describe('store', () => {
  const key = (o: { name: string }): string => o.name;

  test('is not synced until the first list, then swaps each list in whole', async () => {
    const store = new Store(key);
    const synced = store.waitForSync();
    assert.equal(store.synced, false);
    store.apply({ type: 'restarted', objects: [{ name: 'a' }, { name: 'b' }] });
    await synced;
    assert.equal(store.synced, true);
    store.apply({ type: 'restarted', objects: [{ name: 'c' }] });
    assert.deepEqual(store.list(), [{ name: 'c' }]);
  });

  test('applies and deletes single objects', () => {
    const store = new Store(key);
    store.apply({ type: 'restarted', objects: [] });
    store.apply({ type: 'applied', object: { name: 'a' } });
    assert.deepEqual(store.get('a'), { name: 'a' });
    store.apply({ type: 'deleted', object: { name: 'a' } });
    assert.equal(store.get('a'), undefined);
  });
});
