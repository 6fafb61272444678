/** What the operator keeps of a Deployment it owns: the resolver container's resources, and nothing it cannot read as a quantity. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { shrinkChild } from '../../../src/controller/children.ts';

const deploymentWith = (containers: unknown): Parameters<ReturnType<typeof shrinkChild>>[0] => ({
  metadata: { name: 'dns', namespace: 'clusterdns-system', resourceVersion: '1' },
  spec: { replicas: 2, template: { metadata: { labels: { 'app.kubernetes.io/version': '0.1.0' } }, spec: { containers } } },
});
const resourcesOf = (containers: unknown): unknown => shrinkChild('Deployment')(deploymentWith(containers)).deployment?.resources;

describe('a cached Deployment', () => {
  test('keeps the resolver container\'s requests and limits, not another container\'s', () => {
    const resources = { requests: { cpu: '100m', memory: '192Mi' }, limits: { memory: '224Mi' } };
    assert.deepEqual(resourcesOf([{ name: 'sidecar', resources: { limits: { memory: '1Gi' } } }, { name: 'resolver', resources }]), resources);
    assert.equal(resourcesOf([{ name: 'sidecar', resources }]), undefined);
  });

  test('keeps only quantities (strings and numbers) of what the apiserver sent', () => {
    assert.deepEqual(resourcesOf([{ name: 'resolver', resources: { requests: { cpu: 1, memory: { a: 1 }, x: null }, limits: 'lots' } }]), { requests: { cpu: 1 } });
    for (const resources of [undefined, null, 'x', [], { requests: [], limits: {} }]) {
      assert.equal(resourcesOf([{ name: 'resolver', resources }]), undefined, JSON.stringify(resources));
    }
    for (const containers of [undefined, 'x', {}, [null, 7]]) {
      assert.equal(resourcesOf(containers), undefined, JSON.stringify(containers));
    }
  });
});
