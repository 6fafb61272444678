/** Counting the cluster from list pages the apiserver sends, none of it trusted, and when a new count is passed on. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ClusterCounter, listCount, meanEndpoints, movedEnough } from '../../../src/controller/cluster-count.ts';
import type { ListPage } from '../../../src/controller/cluster-count.ts';
import type { ClusterContents } from '../../../src/controller/memory-sizing.ts';
import type { KubeClient } from '../../../src/kube/client.ts';
import { FakeClock } from '../../support/fake-clock.ts';

const silent = { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined, child: () => silent } as never;
const contents = (services: number): ClusterContents => ({ services, endpointSlices: services, endpoints: services * 5, pods: 10 });

describe('a list page', () => {
  test('counts its items and the rest the apiserver reports', () => {
    assert.equal(listCount({ items: [{}], metadata: { remainingItemCount: 41_999, continue: 'abc' } }), 42_000);
    assert.equal(listCount({ items: [{}, {}], metadata: {} }), 2, 'the last page: its items are all');
    assert.equal(listCount({ metadata: { remainingItemCount: 0 } }), 0);
  });

  test('is no count when a later page exists and the rest is not a whole number of objects', () => {
    for (const remainingItemCount of [undefined, -1, 1.5, '12', Number.MAX_SAFE_INTEGER + 2, null, {}]) {
      assert.equal(listCount({ items: [{}], metadata: { remainingItemCount, continue: 'next' } }), undefined, JSON.stringify(remainingItemCount));
    }
    const notAList: ListPage = { items: 'many', metadata: { continue: '' } };
    assert.equal(listCount(notAList), 0);
  });

  test('gives the mean endpoints of the slices it holds, skipping what is not a slice', () => {
    assert.equal(meanEndpoints({ items: [{ endpoints: [{}, {}, {}] }, { endpoints: [{}] }] }), 2);
    assert.equal(meanEndpoints({ items: [null, { endpoints: 'x' }, { endpoints: [{}, {}] }, 7] }), 0.5);
    assert.equal(meanEndpoints({ items: [] }), 1);
    assert.equal(meanEndpoints({}), 1);
  });
});

describe('a new count', () => {
  test('is passed on when any figure moved by more than a tenth and 100 objects', () => {
    assert.equal(movedEnough(undefined, contents(0)), true, 'the first');
    assert.equal(movedEnough(contents(10_000), contents(10_900)), false);
    assert.equal(movedEnough(contents(10_000), contents(11_100)), true);
    assert.equal(movedEnough(contents(10_000), contents(8_900)), true, 'down as well');
    assert.equal(movedEnough(contents(50), contents(60)), false, 'a few objects in a small cluster are not a move');
    assert.equal(movedEnough(contents(1000), { ...contents(1000), pods: 10_000 }), true);
  });
});

describe('the counter', () => {
  /** A client whose lists report `sizes` (kind → count) with slices of `perSlice` endpoints; `fail` makes every request fail. */
  const clientOf = (state: { sizes: Record<string, number>; perSlice: number; fail?: boolean; asked: string[] }): KubeClient => ({
    request: (_method: string, path: string, options: { query?: { limit?: number } }): Promise<ListPage> => {
      state.asked.push(`${path}?limit=${String(options.query?.limit)}`);
      if (state.fail) return Promise.reject(new Error('connection refused'));
      const kind = path.endsWith('/services') ? 'services' : path.endsWith('/endpointslices') ? 'endpointSlices' : 'pods';
      const total = state.sizes[kind] ?? 0;
      const page = Math.min(total, options.query?.limit ?? total);
      return Promise.resolve({ metadata: { remainingItemCount: total - page, continue: total > page ? 'next' : '' }, items: Array.from({ length: page }, () => ({ endpoints: Array.from({ length: state.perSlice }, () => ({})) })) });
    },
  }) as unknown as KubeClient;

  test('counts at start and every interval, passing on only counts that moved, and keeps the last through failures', async () => {
    const state = { sizes: { services: 20_000, endpointSlices: 20_000, pods: 300 }, perSlice: 5, fail: false, asked: [] as string[] };
    const clock = new FakeClock();
    const changes: ClusterContents[] = [];
    const counter = new ClusterCounter({ client: clientOf(state), clock, log: silent, intervalMs: 60_000, onChange: (c) => changes.push(c) });
    const stop = new AbortController();
    const running = counter.run(stop.signal);
    await counter.firstCount();
    assert.deepEqual(counter.current(), { services: 20_000, endpointSlices: 20_000, endpoints: 100_000, pods: 300 });
    assert.deepEqual(state.asked, ['/api/v1/services?limit=1', '/apis/discovery.k8s.io/v1/endpointslices?limit=500', '/api/v1/pods?limit=1']);

    const tick = async (): Promise<void> => { clock.advance(60_000); await new Promise((resolve) => setImmediate(resolve)); };
    state.sizes.services = 20_500;
    await tick();
    assert.equal(changes.length, 1, 'a 2.5 % change is not passed on');
    state.fail = true;
    await tick();
    assert.equal(counter.current()?.services, 20_000, 'a failed count keeps the last one');
    state.fail = false;
    state.sizes.endpointSlices = 40_000;
    await tick();
    assert.equal(changes.length, 2);
    assert.deepEqual(counter.current(), { services: 20_500, endpointSlices: 40_000, endpoints: 200_000, pods: 300 });
    stop.abort();
    await running;
  });

  test('has no count while the apiserver gives none of its lists', async () => {
    const client = { request: () => Promise.resolve({ metadata: { continue: 'next' }, items: [{}] }) } as unknown as KubeClient;
    const counter = new ClusterCounter({ client, clock: new FakeClock(), log: silent, onChange: () => assert.fail('no count to pass on') });
    const stop = new AbortController();
    const running = counter.run(stop.signal);
    await counter.firstCount();
    assert.equal(counter.current(), undefined);
    stop.abort();
    await running;
  });
});
