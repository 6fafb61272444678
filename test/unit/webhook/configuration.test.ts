/** renderWebhookConfiguration(): the injector the apiserver calls, and who reaches it. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { matchesSelector } from '../../../src/api/selectors.ts';
import type { LabelSelector } from '../../../src/api/selectors.ts';
import { renderWebhookConfiguration } from '../../../src/webhook/configuration.ts';
import type { InstanceFacts } from '../../../src/webhook/instances.ts';

interface Webhook {
  name: string;
  clientConfig: { url?: string; service?: { namespace: string; name: string; path: string; port: number }; caBundle: string };
  namespaceSelector: LabelSelector;
  objectSelector: LabelSelector;
  [key: string]: unknown;
}

const instance = (name: string, injection: InstanceFacts['injection'], extra: Partial<InstanceFacts> = {}): InstanceFacts => ({
  name, version: '0.1.0', clusterIP: '10.96.0.50', clusterDomain: 'cluster.local', injection, deleting: false, ...extra,
});

const render = (instances: InstanceFacts[] = [], endpoint: Parameters<typeof renderWebhookConfiguration>[0]['endpoint'] = { url: 'https://127.0.0.1:9443/mutate-v1-pod' }): Webhook[] =>
  (renderWebhookConfiguration({ endpoint, caBundle: 'PEM', instances, protectedNamespaces: ['clusterdns-system', 'kube-system'] }) as { webhooks: Webhook[] }).webhooks;

/** Which webhooks a pod reaches, as the apiserver would match them. */
function reached(webhooks: Webhook[], podLabels: Record<string, string>, namespace: string, namespaceLabels: Record<string, string> = {}): string[] {
  const nsLabels = { ...namespaceLabels, 'kubernetes.io/metadata.name': namespace };
  return webhooks.filter((w) => matchesSelector(w.namespaceSelector, nsLabels) && matchesSelector(w.objectSelector, podLabels)).map((w) => w.name);
}

describe('renderWebhookConfiguration', () => {
  test('every webhook is safe: Ignore, no side effects, short timeout, reinvoked, v1, Pod CREATE only', () => {
    for (const webhook of render([instance('a', { podSelector: { matchLabels: { app: 'web' } }, percent: 100 })])) {
      assert.equal(webhook['failurePolicy'], 'Ignore');
      assert.equal(webhook['sideEffects'], 'None');
      assert.ok((webhook['timeoutSeconds'] as number) <= 5);
      assert.equal(webhook['reinvocationPolicy'], 'IfNeeded');
      assert.deepEqual(webhook['admissionReviewVersions'], ['v1']);
      assert.deepEqual(webhook['rules'], [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], scope: 'Namespaced' }]);
      assert.equal(webhook.clientConfig.caBundle, Buffer.from('PEM').toString('base64'));
    }
  });

  test('the name and clientConfig: a URL when given, else the Service', () => {
    const config = renderWebhookConfiguration({ endpoint: { service: { namespace: 'ops', name: 'clusterdns-webhook', port: 443 } }, caBundle: 'PEM', instances: [], protectedNamespaces: ['ops'] });
    assert.equal((config['metadata'] as { name: string }).name, 'clusterdns-injector');
    const [first] = (config as { webhooks: Webhook[] }).webhooks;
    assert.deepEqual(first?.clientConfig.service, { namespace: 'ops', name: 'clusterdns-webhook', path: '/mutate-v1-pod', port: 443 });
    assert.equal(render()[0]?.clientConfig.url, 'https://127.0.0.1:9443/mutate-v1-pod');
  });

  const webhooks = render([
    instance('canary', { podSelector: { matchLabels: { app: 'web' } }, percent: 10 }),
    instance('tenant', { namespaceSelector: { matchLabels: { team: 'blue' } }, percent: 100 }),
    instance('plain', { percent: 100 }),
    instance('broken', { podSelector: { matchLabels: { app: 'web' } }, percent: 100 }, { invalid: 'bad' }),
  ]);
  const rows: Array<{ title: string; pod: Record<string, string>; ns: string; nsLabels?: Record<string, string>; expected: string[] }> = [
    { title: 'a labelled pod reaches the pod webhook only', pod: { 'clusterdns.io/instance': 'x', app: 'web' }, ns: 'shop', nsLabels: { 'clusterdns.io/instance': 'y', team: 'blue' }, expected: ['pod.injector.clusterdns.io'] },
    { title: 'a pod labelled none reaches nothing', pod: { 'clusterdns.io/instance': 'none', app: 'web' }, ns: 'shop', expected: [] },
    { title: 'a pod in a labelled namespace reaches the namespace webhook only', pod: { app: 'web' }, ns: 'shop', nsLabels: { 'clusterdns.io/instance': 'y' }, expected: ['namespace.injector.clusterdns.io'] },
    { title: 'a namespace labelled none sends nothing', pod: { app: 'web' }, ns: 'shop', nsLabels: { 'clusterdns.io/instance': 'none', team: 'blue' }, expected: [] },
    { title: 'an unlabelled pod reaches the instances whose selectors match', pod: { app: 'web' }, ns: 'shop', nsLabels: { team: 'blue' }, expected: ['canary.instance.injector.clusterdns.io', 'tenant.instance.injector.clusterdns.io'] },
    { title: 'an unlabelled pod nobody selects reaches nothing', pod: { app: 'db' }, ns: 'shop', expected: [] },
    { title: 'the operator namespace reaches nothing', pod: { 'clusterdns.io/instance': 'x' }, ns: 'clusterdns-system', nsLabels: { 'clusterdns.io/instance': 'y' }, expected: [] },
    { title: 'kube-system reaches nothing', pod: { app: 'web' }, ns: 'kube-system', nsLabels: { team: 'blue' }, expected: [] },
  ];
  for (const row of rows) {
    test(row.title, () => {
      assert.deepEqual(reached(webhooks, row.pod, row.ns, row.nsLabels), row.expected);
    });
  }

  test('instances without selectors, or invalid, or being deleted get no webhook of their own', () => {
    const names = render([
      instance('plain', { percent: 100 }),
      instance('empty', { podSelector: {}, namespaceSelector: {}, percent: 100 }),
      instance('zero', { podSelector: { matchLabels: { a: 'b' } }, percent: 0 }),
      instance('gone', { podSelector: { matchLabels: { a: 'b' } }, percent: 100 }, { deleting: true }),
    ]).map((w) => w.name);
    assert.deepEqual(names, ['pod.injector.clusterdns.io', 'namespace.injector.clusterdns.io']);
  });

  test('is deterministic: instances sorted by name', () => {
    const a = instance('a', { podSelector: { matchLabels: { x: 'y' } }, percent: 100 });
    const b = instance('b', { podSelector: { matchLabels: { x: 'y' } }, percent: 100 });
    assert.deepEqual(render([b, a]), render([a, b]));
  });
});
