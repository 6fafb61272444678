/**
 * When reconcile may skip an apply (nothing could change), and what a relist reports: the
 * two rules that make an idle operator send the apiserver nothing.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { KubeApiError } from '../../../src/kube/client.ts';
import { apiserverMessage, isRefusal, isUpToDate } from '../../../src/controller/apply.ts';
import type { AppliedRecord } from '../../../src/controller/apply.ts';
import type { Child } from '../../../src/controller/children.ts';
import { relistChanges } from '../../../src/controller/informer.ts';
import type { Manifest } from '../../../src/controller/render.ts';

const labels = { 'app.kubernetes.io/name': 'clusterdns', 'app.kubernetes.io/instance': 'dns', 'app.kubernetes.io/version': '1' };
const desired: Manifest = {
  apiVersion: 'apps/v1', kind: 'Deployment',
  metadata: { name: 'dns', namespace: 'ns', labels, annotations: { note: 'x' }, ownerReferences: [] },
};
const record: AppliedRecord = { hash: 'h1', uid: 'u1', resourceVersion: '10', generation: 3 };

function live(overrides: Partial<Child> = {}): Child {
  return {
    kind: 'Deployment', namespace: 'ns', name: 'dns', uid: 'u1', resourceVersion: '10', generation: 3,
    labels: { ...labels, 'extra': 'kept' }, annotations: { note: 'x', 'deployment.kubernetes.io/revision': '2' }, owners: ['dns'], ...overrides,
  };
}

describe('isUpToDate', () => {
  const rows: Array<[string, AppliedRecord | undefined, string, Child | undefined, boolean]> = [
    ['the object is the one our last apply left', record, 'h1', live(), true],
    ['only its status changed (new resourceVersion, same generation)', record, 'h1', live({ resourceVersion: '11' }), true],
    ['nothing was applied since the operator started', undefined, 'h1', live(), false],
    ['the desired object changed', record, 'h2', live(), false],
    ['the object does not exist', record, 'h1', undefined, false],
    ['it was deleted and created again by someone', record, 'h1', live({ uid: 'u2' }), false],
    ['its spec was edited (generation moved)', record, 'h1', live({ resourceVersion: '12', generation: 4 }), false],
    ['a label of ours was changed', record, 'h1', live({ resourceVersion: '12', labels: { ...labels, 'app.kubernetes.io/version': '0' } }), false],
    ['an annotation of ours was removed', record, 'h1', live({ resourceVersion: '12', annotations: {} }), false],
    ['the owner reference was removed', record, 'h1', live({ resourceVersion: '12', owners: [] }), false],
    ['a kind without generation was written by someone', record, 'h1', live({ resourceVersion: '12', generation: undefined }), false],
  ];
  for (const [title, rec, hash, child, expected] of rows) {
    test(`${expected ? 'skips' : 'applies'} when ${title}`, () => { assert.equal(isUpToDate(rec, hash, child, desired), expected); });
  }
});

describe('isRefusal', () => {
  const rows: Array<[string, unknown, boolean]> = [
    ['an invalid object (422)', new KubeApiError('PATCH', '/x', 422, { message: 'spec.clusterIPs: Invalid value' }), true],
    ['a forbidden write (403)', new KubeApiError('PATCH', '/x', 403, {}), true],
    ['a conflict (409): retry', new KubeApiError('PATCH', '/x', 409, {}), false],
    ['too many requests (429): retry', new KubeApiError('PATCH', '/x', 429, {}), false],
    ['a server error (500): retry', new KubeApiError('PATCH', '/x', 500, {}), false],
    ['no connection: retry', new Error('ECONNREFUSED'), false],
  ];
  for (const [title, error, expected] of rows) test(`${title} is ${expected ? '' : 'not '}a refusal`, () => { assert.equal(isRefusal(error), expected); });

  test('the apiserver\'s message is kept without our request line', () => {
    assert.equal(apiserverMessage(new KubeApiError('PATCH', '/x', 422, { message: 'provided IP is already allocated' })), 'provided IP is already allocated');
  });
});

describe('relistChanges', () => {
  interface O { key: string; version: string }
  const keyOf = (o: O): string => o.key;
  const versionOf = (o: O): string => o.version;
  test('reports what appeared, changed or disappeared, and nothing else', () => {
    const before: O[] = [{ key: 'same', version: '1' }, { key: 'changed', version: '1' }, { key: 'gone', version: '1' }];
    const after: O[] = [{ key: 'same', version: '1' }, { key: 'changed', version: '2' }, { key: 'new', version: '1' }];
    assert.deepEqual(relistChanges(before, after, keyOf, versionOf), [
      [{ key: 'changed', version: '1' }, { key: 'changed', version: '2' }],
      [undefined, { key: 'new', version: '1' }],
      [{ key: 'gone', version: '1' }, undefined],
    ]);
  });
  test('the first list reports everything as new', () => {
    assert.deepEqual(relistChanges([], [{ key: 'a', version: '1' }], keyOf, versionOf), [[undefined, { key: 'a', version: '1' }]]);
  });
});
