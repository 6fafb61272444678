/** injectDns() and the patch computed from it: kubelet's ClusterFirst config, merged and bounded. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DNS_LIMITS, injectDns, mergeDnsConfig, clusterFirstDnsConfig } from '../../../src/webhook/mutate.ts';
import type { JsonObject } from '../../../src/webhook/mutate.ts';
import { applyPatch, diff } from '../../../src/webhook/patch.ts';

const target = { name: 'kube-dns-2', version: '0.1.0', clusterIP: '10.96.0.20', clusterDomain: 'cluster.local' };
const base = clusterFirstDnsConfig('shop', target);

const pod = (spec: JsonObject = {}, metadata: JsonObject = {}): JsonObject => ({
  apiVersion: 'v1', kind: 'Pod', metadata: { generateName: 'web-', namespace: 'shop', ...metadata },
  spec: { containers: [{ name: 'app', image: 'app' }], ...spec },
});

describe('clusterFirstDnsConfig', () => {
  test('is what kubelet writes for ClusterFirst', () => {
    assert.deepEqual(base, {
      nameservers: ['10.96.0.20'],
      searches: ['shop.svc.cluster.local', 'svc.cluster.local', 'cluster.local'],
      options: [{ name: 'ndots', value: '5' }],
    });
  });
});

describe('mergeDnsConfig', () => {
  test('the pod’s extra searches, nameservers and options come after ours, without duplicates', () => {
    const merged = mergeDnsConfig(base, {
      nameservers: ['10.96.0.20', '1.1.1.1'],
      searches: ['corp.example', 'svc.cluster.local'],
      options: [{ name: 'edns0' }, { name: 'timeout', value: '2' }],
    });
    assert.deepEqual(merged, {
      nameservers: ['10.96.0.20', '1.1.1.1'],
      searches: ['shop.svc.cluster.local', 'svc.cluster.local', 'cluster.local', 'corp.example'],
      options: [{ name: 'ndots', value: '5' }, { name: 'edns0' }, { name: 'timeout', value: '2' }],
    });
  });

  test('the pod’s own ndots overrides ours, as kubelet does', () => {
    assert.deepEqual(mergeDnsConfig(base, { options: [{ name: 'ndots', value: '2' }] }).options, [{ name: 'ndots', value: '2' }]);
  });

  test('at most 3 nameservers: ours first, the pod’s last ones dropped', () => {
    const merged = mergeDnsConfig(base, { nameservers: ['1.1.1.1', '8.8.8.8', '9.9.9.9'] });
    assert.deepEqual(merged.nameservers, ['10.96.0.20', '1.1.1.1', '8.8.8.8']);
    assert.equal(merged.nameservers.length, DNS_LIMITS.nameservers);
  });

  test('at most 32 searches', () => {
    const own = Array.from({ length: 40 }, (_, i) => `d${i}.example`);
    const merged = mergeDnsConfig(base, { searches: own });
    assert.equal(merged.searches.length, 32);
    assert.deepEqual(merged.searches.slice(0, 4), [...base.searches, 'd0.example']);
  });

  test('at most 2048 characters of searches', () => {
    const own = Array.from({ length: 20 }, (_, i) => `${String(i).padStart(2, '0')}${'x'.repeat(150)}.example`);
    const merged = mergeDnsConfig(base, { searches: own });
    assert.ok(merged.searches.join(' ').length <= DNS_LIMITS.searchChars, String(merged.searches.join(' ').length));
    assert.ok(merged.searches.length > 3 && merged.searches.length < 23);
  });
});

describe('injectDns and its patch', () => {
  test('sets dnsPolicy None, the dnsConfig, the annotation and the label, and leaves the input alone', () => {
    const original = pod();
    const mutated = injectDns(original, 'shop', target);
    assert.equal((mutated['spec'] as JsonObject)['dnsPolicy'], 'None');
    assert.deepEqual((mutated['spec'] as JsonObject)['dnsConfig'], { nameservers: ['10.96.0.20'], searches: base.searches, options: [{ name: 'ndots', value: '5' }] });
    assert.deepEqual((mutated['metadata'] as JsonObject)['annotations'], { 'clusterdns.io/injected': 'kube-dns-2@0.1.0' });
    assert.deepEqual((mutated['metadata'] as JsonObject)['labels'], { 'clusterdns.io/injected-into': 'kube-dns-2' });
    assert.deepEqual(original, pod(), 'the original is unchanged');
  });

  test('the patch adds exactly the four changes and keeps other annotations and labels', () => {
    const original = pod({ dnsPolicy: 'ClusterFirst' }, { annotations: { keep: 'me' }, labels: { app: 'web' } });
    const ops = diff(original, injectDns(original, 'shop', target));
    assert.deepEqual(ops.map((o) => `${o.op} ${o.path}`).sort(), [
      'add /metadata/annotations/clusterdns.io~1injected',
      'add /metadata/labels/clusterdns.io~1injected-into',
      'add /spec/dnsConfig',
      'add /spec/dnsPolicy',
    ]);
    assert.deepEqual(applyPatch(original, ops), injectDns(original, 'shop', target));
  });

  const cases: Array<{ title: string; pod: JsonObject }> = [
    { title: 'a plain pod', pod: pod() },
    { title: 'a pod with annotations', pod: pod({}, { annotations: { a: 'b' } }) },
    { title: 'a pod with its own dnsConfig', pod: pod({ dnsConfig: { searches: ['corp.example'], options: [{ name: 'edns0' }] } }) },
    { title: 'a pod with three nameservers of its own', pod: pod({ dnsConfig: { nameservers: ['1.1.1.1', '8.8.8.8', '9.9.9.9'] } }) },
  ];
  for (const c of cases) {
    test(`applying the patch twice gives what applying it once gives: ${c.title}`, () => {
      const ops = diff(c.pod, injectDns(c.pod, 'shop', target));
      const once = applyPatch(c.pod, ops);
      assert.deepEqual(applyPatch(once, ops), once);
    });

    test(`injecting an injected pod changes nothing (reinvocation): ${c.title}`, () => {
      const once = injectDns(c.pod, 'shop', target);
      assert.deepEqual(diff(once, injectDns(once, 'shop', target)), []);
    });
  }
});
