/** Event-to-key mapping and the queue's response to a reconcile's outcome. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { controllingClusterDNS, keysOfChange, queueAction, resultLabel, specOrMetadataChanged, TerminalError } from '../../../src/controller/handlers.ts';
import type { OwnerReference } from '../../../src/controller/handlers.ts';

const owner = (name: string, extra: Partial<OwnerReference> = {}): OwnerReference =>
  ({ apiVersion: 'clusterdns.io/v1alpha1', kind: 'ClusterDNS', name, controller: true, ...extra });

describe('mapping a child to its ClusterDNS', () => {
  const rows: Array<[string, OwnerReference[] | undefined, string[]]> = [
    ['a child with its controller owner maps to that owner', [owner('kube-dns-2')], ['kube-dns-2']],
    ['a child without owners maps to nothing', undefined, []],
    ['an owner that is not the controller is ignored', [owner('x', { controller: false })], []],
    ['an owner of another kind is ignored', [owner('x', { kind: 'Deployment', apiVersion: 'apps/v1' })], []],
    ['an owner of another group is ignored', [owner('x', { apiVersion: 'example.com/v1' })], []],
    ['a ClusterDNS of another version of the group still owns it', [owner('x', { apiVersion: 'clusterdns.io/v1beta1' })], ['x']],
  ];
  for (const [title, owners, keys] of rows) test(title, () => { assert.deepEqual(controllingClusterDNS(owners), keys); });
});

describe('the keys of a change', () => {
  const byOwner = (o: { owner: string }): string[] => [o.owner];
  test('an add maps the new object', () => { assert.deepEqual(keysOfChange(byOwner, undefined, { owner: 'a' }), ['a']); });
  test('a delete maps the old object', () => { assert.deepEqual(keysOfChange(byOwner, { owner: 'a' }, undefined), ['a']); });
  test('an update maps both old and new, once each', () => {
    assert.deepEqual(keysOfChange(byOwner, { owner: 'a' }, { owner: 'b' }), ['a', 'b']);
    assert.deepEqual(keysOfChange(byOwner, { owner: 'a' }, { owner: 'a' }), ['a']);
  });
});

describe('which ClusterDNS updates wake reconcile', () => {
  const meta = { generation: 2, labels: { a: '1' }, annotations: { n: 'x' } };
  const rows: Array<[string, object | undefined, object | undefined, boolean]> = [
    ['a status-only update (the operator\'s own status write) does not', meta, { ...meta }, false],
    ['a spec change (new generation) does', meta, { ...meta, generation: 3 }, true],
    ['a label change does', meta, { ...meta, labels: { a: '2' } }, true],
    ['a new annotation does', meta, { ...meta, annotations: { n: 'x', m: 'y' } }, true],
    ['a deletion that starts does', meta, { ...meta, deletionTimestamp: '2026-01-01T00:00:00Z' }, true],
    ['an add does', undefined, meta, true],
    ['a delete does', meta, undefined, true],
  ];
  for (const [title, before, after, expected] of rows) test(title, () => { assert.equal(specOrMetadataChanged(before, after), expected); });
});

describe('what the queue does with an outcome', () => {
  test('a success forgets the key\'s backoff', () => {
    assert.deepEqual(queueAction({ kind: 'success' }), { action: 'forget' });
    assert.equal(resultLabel({ kind: 'success' }), 'success');
  });
  test('a success with requeue-after queues the key again later', () => {
    assert.deepEqual(queueAction({ kind: 'success', requeueAfterMs: 3000 }), { action: 'requeueAfter', ms: 3000 });
    assert.equal(resultLabel({ kind: 'success', requeueAfterMs: 3000 }), 'requeue_after');
  });
  test('an error retries with backoff', () => {
    assert.deepEqual(queueAction({ kind: 'error', error: new Error('apiserver down') }), { action: 'retry' });
    assert.equal(resultLabel({ kind: 'error', error: new Error('x') }), 'error');
  });
  test('a terminal error is not retried', () => {
    assert.deepEqual(queueAction({ kind: 'error', error: new TerminalError('spec.ttl: too big') }), { action: 'forget' });
  });
});
