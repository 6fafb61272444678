/** Counting the cluster from list pages the apiserver sends, none of it trusted, and when a new count is passed on. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ClusterCounter, countCluster, endpointsIn, listCount, movedEnough } from '../../../src/controller/cluster-count.ts';
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

  test('gives the endpoints of the slices it holds, skipping what is not a slice', () => {
    assert.equal(endpointsIn({ items: [{ endpoints: [{}, {}, {}] }, { endpoints: [{}] }] }), 4);
    assert.equal(endpointsIn({ items: [null, { endpoints: 'x' }, { endpoints: [{}, {}] }, 7] }), 2);
    assert.equal(endpointsIn({ items: [] }), 0);
    assert.equal(endpointsIn({ items: 'many' }), 0);
    assert.equal(endpointsIn({}), 0);
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
  /**
   * A client whose lists report `sizes` (kind → count); the EndpointSlices come in pages of
   * the limit asked, the first `bigSlices` of `bigPerSlice` endpoints and the others of
   * `perSlice`; `fail` makes every request fail.
   */
  const clientOf = (state: { sizes: Record<string, number>; perSlice: number; bigSlices?: number; bigPerSlice?: number; fail?: boolean; asked: string[] }): KubeClient => ({
    request: (_method: string, path: string, options: { query?: { limit?: number; continue?: string } }): Promise<ListPage> => {
      const from = Number(options.query?.continue ?? 0);
      state.asked.push(`${path}?limit=${String(options.query?.limit)}${from ? `&continue=${from}` : ''}`);
      if (state.fail) return Promise.reject(new Error('connection refused'));
      const kind = path.endsWith('/services') ? 'services' : path.endsWith('/endpointslices') ? 'endpointSlices' : 'pods';
      const total = state.sizes[kind] ?? 0;
      const to = Math.min(total, from + (options.query?.limit ?? total));
      const endpointsOf = (index: number): number => (index < (state.bigSlices ?? 0) ? state.bigPerSlice ?? 0 : state.perSlice);
      const items = Array.from({ length: to - from }, (_, i) => ({ endpoints: Array.from({ length: endpointsOf(from + i) }, () => ({})) }));
      return Promise.resolve({ metadata: { remainingItemCount: total - to, continue: total > to ? String(to) : '' }, items });
    },
  }) as unknown as KubeClient;

  test('counts every endpoint, a page of slices at a time, wherever the large slices are', async () => {
    const state = { sizes: { services: 1_200, endpointSlices: 1_200, pods: 40 }, perSlice: 1, bigSlices: 70, bigPerSlice: 1000, asked: [] as string[] };
    assert.deepEqual(await countCluster(clientOf(state)), { services: 1_200, endpointSlices: 1_200, endpoints: 70 * 1000 + 1_130, pods: 40 });
    const slicePages = state.asked.filter((asked) => asked.includes('endpointslices'));
    assert.deepEqual(slicePages, ['/apis/discovery.k8s.io/v1/endpointslices?limit=500', '/apis/discovery.k8s.io/v1/endpointslices?limit=500&continue=500', '/apis/discovery.k8s.io/v1/endpointslices?limit=500&continue=1000']);
  });

  test('gives up on a list of slices that never ends', async () => {
    const endless = { request: () => Promise.resolve({ metadata: { continue: 'again', remainingItemCount: 1 }, items: [{ endpoints: [{}] }] }) } as unknown as KubeClient;
    await assert.rejects(countCluster(endless), /beyond 2000 pages/);
  });

  test('counts at start and every interval, passing on only counts that moved, and keeps the last through failures', async () => {
    const state = { sizes: { services: 20_000, endpointSlices: 20_000, pods: 300 }, perSlice: 5, fail: false, asked: [] as string[] };
    const clock = new FakeClock();
    const changes: ClusterContents[] = [];
    const counter = new ClusterCounter({ client: clientOf(state), clock, log: silent, intervalMs: 60_000, onChange: (c) => changes.push(c) });
    const stop = new AbortController();
    const running = counter.run(stop.signal);
    await counter.firstCount();
    assert.deepEqual(counter.current(), { services: 20_000, endpointSlices: 20_000, endpoints: 100_000, pods: 300 });
    assert.equal(state.asked.filter((asked) => asked.includes('endpointslices')).length, 40, 'every slice, 500 to a page');
    assert.ok(state.asked.includes('/api/v1/services?limit=1') && state.asked.includes('/api/v1/pods?limit=1'), 'Services and Pods from the count of the rest');

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

  test('tries again half a minute after a failed count, not a whole interval', async () => {
    const state = { sizes: { services: 10, endpointSlices: 10, pods: 10 }, perSlice: 1, fail: true, asked: [] as string[] };
    const clock = new FakeClock();
    const counter = new ClusterCounter({ client: clientOf(state), clock, log: silent, intervalMs: 300_000, onChange: () => undefined });
    const stop = new AbortController();
    const running = counter.run(stop.signal);
    await counter.firstCount();
    assert.equal(counter.current(), undefined);
    state.fail = false;
    clock.advance(30_000);
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(counter.current(), { services: 10, endpointSlices: 10, endpoints: 10, pods: 10 });
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
