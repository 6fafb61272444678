/** decide(): which instance a pod is pointed at, and why not when it is not. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decide } from '../../../src/webhook/decide.ts';
import type { Decision, NamespaceFacts, PodFacts } from '../../../src/webhook/decide.ts';
import type { InstanceFacts } from '../../../src/webhook/instances.ts';
import { inSample, workloadKey } from '../../../src/webhook/sampling.ts';

const instance = (name: string, extra: Partial<InstanceFacts> = {}): InstanceFacts => ({
  name, version: '0.1.0', clusterIP: '10.96.0.50', clusterDomain: 'cluster.local', injection: { percent: 100 }, serving: 'Instance', deleting: false, ...extra,
});

const pod = (extra: Partial<PodFacts> = {}): PodFacts => ({
  namespace: 'shop', name: '', generateName: 'web-', ownerReferences: [], labels: {}, annotations: {}, hostNetwork: false, dnsPolicy: '', ...extra,
});

const ns = (labels: Record<string, string> = {}, name = 'shop'): NamespaceFacts => ({ name, labels });

function run(p: PodFacts, n: NamespaceFacts, instances: InstanceFacts[]): Decision {
  return decide({ pod: p, namespace: n, instances: new Map(instances.map((i) => [i.name, i])), protectedNamespaces: ['clusterdns-system', 'kube-system'] });
}

const label = (value: string): Record<string, string> => ({ 'clusterdns.io/instance': value });

describe('decide', () => {
  const rows: Array<{ title: string; pod: PodFacts; ns: NamespaceFacts; instances: InstanceFacts[]; action: Decision['action']; target?: string; reason: RegExp }> = [
    { title: 'a pod label points the pod at its instance', pod: pod({ labels: label('a') }), ns: ns(), instances: [instance('a')], action: 'inject', target: 'a', reason: /pod label clusterdns.io\/instance=a/ },
    { title: 'a namespace label points its pods at the instance', pod: pod(), ns: ns(label('a')), instances: [instance('a')], action: 'inject', target: 'a', reason: /namespace label/ },
    { title: 'the pod label beats the namespace label', pod: pod({ labels: label('b') }), ns: ns(label('a')), instances: [instance('a'), instance('b')], action: 'inject', target: 'b', reason: /pod label/ },
    { title: 'none on the pod opts it out of its namespace label', pod: pod({ labels: label('none') }), ns: ns(label('a')), instances: [instance('a')], action: 'skip', reason: /opts out/ },
    { title: 'none on the namespace opts its pods out of selectors', pod: pod({ labels: { app: 'web' } }), ns: ns(label('none')), instances: [instance('a', { injection: { podSelector: { matchLabels: { app: 'web' } }, percent: 100 } })], action: 'skip', reason: /namespace shop opts out/ },
    { title: 'no label and no selector leaves the pod alone', pod: pod(), ns: ns(), instances: [instance('a')], action: 'skip', reason: /no label and no ClusterDNS injection selector/ },
    { title: 'the operator namespace is never mutated, even with a pod label', pod: pod({ namespace: 'clusterdns-system', labels: label('a') }), ns: ns({}, 'clusterdns-system'), instances: [instance('a')], action: 'skip', reason: /never mutated/ },
    { title: 'kube-system is never mutated', pod: pod({ namespace: 'kube-system' }), ns: ns(label('a'), 'kube-system'), instances: [instance('a')], action: 'skip', reason: /never mutated/ },
    { title: 'an unknown instance is a warning', pod: pod({ labels: label('ghost') }), ns: ns(), instances: [instance('a')], action: 'warn', reason: /ClusterDNS ghost \(from the pod label clusterdns.io\/instance=ghost\) does not exist; the pod keeps the cluster DNS/ },
    { title: 'an instance without clusterIP is a warning', pod: pod(), ns: ns(label('a')), instances: [instance('a', { clusterIP: undefined })], action: 'warn', reason: /has no clusterIP yet/ },
    { title: 'an instance whose clusterIP nobody answers is a warning', pod: pod({ labels: label('a') }), ns: ns(), instances: [instance('a', { serving: 'None' })], action: 'warn', reason: /ClusterDNS a is not serving: neither its own pods nor its baseline has a ready endpoint \(status.serving is None\); the pod keeps the cluster DNS/ },
    { title: 'an instance the operator has not reported serving is a warning', pod: pod(), ns: ns(label('a')), instances: [instance('a', { serving: undefined })], action: 'warn', reason: /is not serving: the operator has not reported/ },
    { title: 'an instance answered by its baseline is injected', pod: pod({ labels: label('a') }), ns: ns(), instances: [instance('a', { serving: 'Baseline' })], action: 'inject', target: 'a', reason: /pod label/ },
    { title: 'an instance being deleted is a warning', pod: pod({ labels: label('a') }), ns: ns(), instances: [instance('a', { deleting: true })], action: 'warn', reason: /being deleted/ },
    { title: 'an invalid instance is a warning that says why', pod: pod({ labels: label('a') }), ns: ns(), instances: [instance('a', { invalid: 'spec.ttl: too big' })], action: 'warn', reason: /invalid \(spec.ttl: too big\)/ },
    { title: 'a hostNetwork pod with its own label is injected', pod: pod({ hostNetwork: true, labels: label('a') }), ns: ns(), instances: [instance('a')], action: 'inject', target: 'a', reason: /pod label/ },
    { title: 'a hostNetwork pod in a labelled namespace is left alone', pod: pod({ hostNetwork: true }), ns: ns(label('a')), instances: [instance('a')], action: 'skip', reason: /hostNetwork pods/ },
    { title: 'dnsPolicy Default with a pod label is a warning', pod: pod({ dnsPolicy: 'Default', labels: label('a') }), ns: ns(), instances: [instance('a')], action: 'warn', reason: /dnsPolicy Default/ },
    { title: 'dnsPolicy None from the namespace label is skipped quietly', pod: pod({ dnsPolicy: 'None' }), ns: ns(label('a')), instances: [instance('a')], action: 'skip', reason: /dnsPolicy None/ },
    { title: 'our own earlier injection is injected again (reinvocation)', pod: pod({ dnsPolicy: 'None', annotations: { 'clusterdns.io/injected': 'a@0.1.0' }, labels: label('a') }), ns: ns(), instances: [instance('a')], action: 'inject', target: 'a', reason: /pod label/ },
    {
      title: 'a podSelector selects matching pods in any namespace',
      pod: pod({ labels: { app: 'web' } }), ns: ns(),
      instances: [instance('a', { injection: { podSelector: { matchLabels: { app: 'web' } }, percent: 100 } })],
      action: 'inject', target: 'a', reason: /selectors/,
    },
    {
      title: 'a namespaceSelector selects every pod of matching namespaces',
      pod: pod(), ns: ns({ team: 'shop' }),
      instances: [instance('a', { injection: { namespaceSelector: { matchLabels: { team: 'shop' } }, percent: 100 } })],
      action: 'inject', target: 'a', reason: /selectors/,
    },
    {
      title: 'both selectors must match',
      pod: pod({ labels: { app: 'db' } }), ns: ns({ team: 'shop' }),
      instances: [instance('a', { injection: { namespaceSelector: { matchLabels: { team: 'shop' } }, podSelector: { matchLabels: { app: 'web' } }, percent: 100 } })],
      action: 'skip', reason: /no label and no ClusterDNS injection selector/,
    },
    {
      title: 'empty selectors select nothing',
      pod: pod(), ns: ns(),
      instances: [instance('a', { injection: { namespaceSelector: {}, podSelector: {}, percent: 100 } })],
      action: 'skip', reason: /no label/,
    },
    {
      title: 'a namespace label beats instance selectors',
      pod: pod({ labels: { app: 'web' } }), ns: ns(label('b')),
      instances: [instance('a', { injection: { podSelector: { matchLabels: { app: 'web' } }, percent: 100 } }), instance('b')],
      action: 'inject', target: 'b', reason: /namespace label/,
    },
    {
      title: 'percent 0 never selects',
      pod: pod({ labels: { app: 'web' } }), ns: ns(),
      instances: [instance('a', { injection: { podSelector: { matchLabels: { app: 'web' } }, percent: 0 } })],
      action: 'skip', reason: /no label/,
    },
  ];
  for (const row of rows) {
    test(row.title, () => {
      const decision = run(row.pod, row.ns, row.instances);
      assert.equal(decision.action, row.action, decision.reason);
      assert.match(decision.reason, row.reason);
      if (row.target) assert.equal(decision.action === 'inject' ? decision.target.name : '', row.target);
    });
  }

  test('the injection target carries the instance clusterIP, version and domain', () => {
    const decision = run(pod({ labels: label('a') }), ns(), [instance('a', { clusterIP: '10.96.7.7', version: '0.2.0', clusterDomain: 'corp.local' })]);
    assert.deepEqual(decision.action === 'inject' ? decision.target : undefined, { name: 'a', version: '0.2.0', clusterIP: '10.96.7.7', clusterDomain: 'corp.local' });
  });

  test('a workload outside one sample falls through to the next instance by name', () => {
    const selector = { podSelector: { matchLabels: { app: 'web' } } };
    const p = pod({ labels: { app: 'web' }, generateName: 'web-' });
    const workload = workloadKey(p);
    // Find an instance name whose 50% sample excludes this workload, then one that includes it.
    const outside = ['a1', 'a2', 'a3', 'a4', 'a5', 'a6', 'a7', 'a8'].find((name) => !inSample(name, workload, 50))!;
    const decision = run(p, ns(), [instance(outside, { injection: { ...selector, percent: 50 } }), instance('z', { injection: { ...selector, percent: 100 } })]);
    assert.equal(decision.action === 'inject' ? decision.target.name : decision.reason, 'z');
  });

  test('a workload outside the only sample is skipped with the share in the reason', () => {
    const p = pod({ labels: { app: 'web' }, generateName: 'web-' });
    const outside = ['a1', 'a2', 'a3', 'a4', 'a5', 'a6', 'a7', 'a8'].find((name) => !inSample(name, workloadKey(p), 50))!;
    const decision = run(p, ns(), [instance(outside, { injection: { podSelector: { matchLabels: { app: 'web' } }, percent: 50 } })]);
    assert.equal(decision.action, 'skip');
    assert.match(decision.reason, new RegExp(`workload shop/generateName/web- is outside the 50% sample of ClusterDNS ${outside}`));
  });
});
