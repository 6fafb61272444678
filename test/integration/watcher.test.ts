/**
 * The watcher against the real apiserver: it lists, follows changes, and survives the
 * apiserver going away and coming back without losing or inventing objects.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Store } from '../../src/kube/store.ts';
import { Watcher } from '../../src/kube/watcher.ts';
import type { RawObject } from '../../src/kube/watcher.ts';
import { Backoff } from '../../src/kube/backoff.ts';
import { controlPlane, createNamespace, eventually, kubeClient } from '../support/cluster.ts';

interface ConfigMapSummary {
  name: string;
  value: string;
}

const shrink = (raw: RawObject): ConfigMapSummary => ({
  name: raw.metadata?.name ?? '',
  value: (raw['data'] as Record<string, string> | undefined)?.['value'] ?? '',
});

describe('the watcher', () => {
  const abort = new AbortController();
  const store = new Store<ConfigMapSummary>((c) => c.name);
  const errors: Error[] = [];
  let ns = '';
  let running: Promise<void> | undefined;

  const configMap = (name: string, value: string): object => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { value } });
  const values = (): Record<string, string> => Object.fromEntries(store.list().map((c) => [c.name, c.value]));

  before(async () => {
    ns = await createNamespace('watcher');
    await kubeClient().request('POST', `/api/v1/namespaces/${ns}/configmaps`, { body: configMap('before', '1') });
    const watcher = new Watcher({
      client: kubeClient(),
      resource: { path: `/api/v1/namespaces/${ns}/configmaps`, fieldSelector: 'metadata.name!=kube-root-ca.crt' },
      shrink,
      onEvent: (event) => { store.apply(event); },
      onError: (error) => errors.push(error),
      backoff: new Backoff({ initialMs: 100, maxMs: 1000, factor: 2, jitter: 0.2 }),
      pageSize: 1,
    });
    running = watcher.run(abort.signal);
    await store.waitForSync();
  });

  after(async () => {
    abort.abort();
    await running;
  });

  test('lists what exists, across pages', () => {
    assert.deepEqual(values(), { before: '1' });
  });

  test('follows creates, updates and deletes', async () => {
    const client = kubeClient();
    await client.request('POST', `/api/v1/namespaces/${ns}/configmaps`, { body: configMap('live', 'a') });
    await eventually(() => { assert.deepEqual(values(), { before: '1', live: 'a' }); });
    await client.request('PUT', `/api/v1/namespaces/${ns}/configmaps/live`, { body: configMap('live', 'b') });
    await eventually(() => { assert.deepEqual(values(), { before: '1', live: 'b' }); });
    await client.request('DELETE', `/api/v1/namespaces/${ns}/configmaps/before`);
    await eventually(() => { assert.deepEqual(values(), { live: 'b' }); });
  });

  test('keeps its content while the apiserver is down and catches up after it returns', async () => {
    const plane = controlPlane();
    await plane.stopApiserver();
    const errorsBefore = errors.length;
    await eventually(() => { assert.ok(errors.length > errorsBefore, 'the watcher noticed the outage'); }, { timeoutMs: 20_000 });
    assert.deepEqual(values(), { live: 'b' }, 'the content survives the outage');
    await plane.startApiserver();

    const client = kubeClient();
    await client.request('POST', `/api/v1/namespaces/${ns}/configmaps`, { body: configMap('after', 'x') });
    await client.request('DELETE', `/api/v1/namespaces/${ns}/configmaps/live`);
    await eventually(() => { assert.deepEqual(values(), { after: 'x' }); }, { timeoutMs: 30_000, what: 'changes after the restart' });
  });
});
