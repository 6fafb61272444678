/**
 * The injection webhook against the real apiserver: pods are created through the API and
 * read back as stored, so every assertion is about what the cluster really keeps.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { CLUSTERDNS_PATH } from '../../src/api/names.ts';
import { KubeApiError } from '../../src/kube/client.ts';
import { createNamespace, eventually, kubeClient, kubectl } from '../support/cluster.ts';
import { createClusterDNS, deleteClusterDNS, installClusterDnsCrd } from '../support/clusterdns.ts';
import { createPod, deleteNamespace, injectedInto, podManifest } from '../support/pods.ts';
import { startWebhook } from '../support/webhook.ts';
import type { RunningWebhook } from '../support/webhook.ts';

const suffix = randomBytes(3).toString('hex');
const A = { name: `wh-a-${suffix}`, ip: '10.96.0.41' };
const B = { name: `wh-b-${suffix}`, ip: '10.96.0.42' };
const PENDING = `wh-pending-${suffix}`;
const SELECTED = { name: `wh-sel-${suffix}`, ip: '10.96.0.43' };
const label = (value: string): Record<string, string> => ({ 'clusterdns.io/instance': value });
const searches = (ns: string): string[] => [`${ns}.svc.cluster.local`, 'svc.cluster.local', 'cluster.local'];

describe('the injection webhook', () => {
  let webhook: RunningWebhook;
  let plain = '';
  let labelled = '';
  const namespaces: string[] = [];

  before(async () => {
    await installClusterDnsCrd();
    for (const { name, ip } of [A, B]) {
      await createClusterDNS(name, { version: '0.1.0' }, { clusterIP: ip, serviceName: name, version: '0.1.0' });
    }
    await createClusterDNS(PENDING, { version: '0.1.0' });
    plain = await createNamespace('wh-plain');
    labelled = await createNamespace('wh-labelled', label(B.name));
    namespaces.push(plain, labelled);
    webhook = await startWebhook();
    namespaces.push(webhook.namespace);
  });

  after(async () => {
    await webhook.remove();
    for (const name of [A.name, B.name, PENDING, SELECTED.name]) await deleteClusterDNS(name);
    for (const ns of namespaces) await deleteNamespace(ns);
  });

  test('a pod label points the pod at its instance, as kubelet would for ClusterFirst', async () => {
    const pod = await createPod(plain, { labels: label(A.name) });
    assert.equal(pod.spec.dnsPolicy, 'None');
    assert.deepEqual(pod.spec.dnsConfig, { nameservers: [A.ip], searches: searches(plain), options: [{ name: 'ndots', value: '5' }] });
    assert.equal(injectedInto(pod), `${A.name}@0.1.0`);
  });

  test('a namespace label points every new pod of the namespace at its instance', async () => {
    const pod = await createPod(labelled);
    assert.deepEqual(pod.spec.dnsConfig?.nameservers, [B.ip]);
    assert.equal(injectedInto(pod), `${B.name}@0.1.0`);
  });

  test('the pod label beats the namespace label', async () => {
    const pod = await createPod(labelled, { labels: label(A.name) });
    assert.deepEqual(pod.spec.dnsConfig?.nameservers, [A.ip]);
  });

  test('none on the pod opts it out', async () => {
    const pod = await createPod(labelled, { labels: label('none') });
    assert.equal(pod.spec.dnsPolicy, 'ClusterFirst');
    assert.equal(pod.spec.dnsConfig, undefined);
    assert.equal(injectedInto(pod), undefined);
  });

  test('a pod without any label is left alone', async () => {
    const pod = await createPod(plain);
    assert.equal(pod.spec.dnsPolicy, 'ClusterFirst');
    assert.equal(injectedInto(pod), undefined);
  });

  test('a pod’s own dnsConfig is kept after ours, within the limits', async () => {
    const pod = await createPod(plain, {
      labels: label(A.name),
      spec: { dnsConfig: { nameservers: ['192.0.2.1', '192.0.2.2', '192.0.2.3'], searches: ['corp.example', 'cluster.local'], options: [{ name: 'ndots', value: '2' }, { name: 'edns0' }] } },
    });
    assert.deepEqual(pod.spec.dnsConfig, {
      nameservers: [A.ip, '192.0.2.1', '192.0.2.2'],
      searches: [...searches(plain), 'corp.example'],
      options: [{ name: 'ndots', value: '2' }, { name: 'edns0' }],
    });
  });

  test('a hostNetwork pod is injected only when it carries the label itself', async () => {
    const own = await createPod(labelled, { labels: label(A.name), spec: { hostNetwork: true } });
    assert.deepEqual(own.spec.dnsConfig?.nameservers, [A.ip]);
    const viaNamespace = await createPod(labelled, { spec: { hostNetwork: true } });
    assert.equal(viaNamespace.spec.dnsPolicy, 'ClusterFirst');
    assert.equal(injectedInto(viaNamespace), undefined);
  });

  test('an unknown instance: the pod is created untouched and the client sees a warning', async () => {
    const manifest = podManifest({ name: 'ghost-pod', labels: label('ghost-instance') });
    const result = await kubectl(['create', '-n', plain, '-o', 'json', '-f', '-'], JSON.stringify(manifest));
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /Warning: clusterdns: ClusterDNS ghost-instance \(from the pod label clusterdns.io\/instance=ghost-instance\) does not exist; the pod keeps the cluster DNS/);
    const pod = await kubeClient().request<{ spec: { dnsPolicy: string } }>('GET', `/api/v1/namespaces/${plain}/pods/ghost-pod`);
    assert.equal(pod.spec.dnsPolicy, 'ClusterFirst');
  });

  test('an instance without a clusterIP yet: created untouched, with a warning', async () => {
    const result = await kubectl(['create', '-n', plain, '-f', '-'], JSON.stringify(podManifest({ labels: label(PENDING) })));
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, new RegExp(`Warning: clusterdns: ClusterDNS ${PENDING} has no clusterIP yet`));
  });

  test('a dry-run create is mutated and nothing is stored', async () => {
    const client = kubeClient();
    const answer = await client.request<{ spec: { dnsPolicy: string; dnsConfig: { nameservers: string[] } } }>('POST', `/api/v1/namespaces/${plain}/pods`, {
      body: podManifest({ name: 'dry', labels: label(A.name) }), query: { dryRun: 'All' },
    });
    assert.deepEqual(answer.spec.dnsConfig.nameservers, [A.ip]);
    await assert.rejects(client.request('GET', `/api/v1/namespaces/${plain}/pods/dry`), (e) => e instanceof KubeApiError && e.status === 404);
  });

  test('the operator’s own namespace is never mutated', async () => {
    const pod = await createPod(webhook.namespace, { labels: label(A.name) });
    assert.equal(injectedInto(pod), undefined);
  });

  test('the configuration is safe and follows the injection selectors of the ClusterDNS objects', async () => {
    const path = '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/clusterdns-injector';
    type Config = { webhooks: Array<{ name: string; failurePolicy: string; sideEffects: string; timeoutSeconds: number; objectSelector: unknown }> };
    const config = await kubeClient().request<Config>('GET', path);
    for (const w of config.webhooks) {
      assert.equal(w.failurePolicy, 'Ignore');
      assert.equal(w.sideEffects, 'None');
      assert.ok(w.timeoutSeconds <= 5);
    }
    const tenant = await createNamespace('wh-tenant', { team: `t-${suffix}` });
    namespaces.push(tenant);
    await createClusterDNS(SELECTED.name, { version: '0.2.0', injection: { namespaceSelector: { matchLabels: { team: `t-${suffix}` } }, percent: 100 } },
      { clusterIP: SELECTED.ip, version: '0.2.0' });
    await eventually(async () => {
      const current = await kubeClient().request<Config>('GET', path);
      assert.ok(current.webhooks.some((w) => w.name === `${SELECTED.name}.instance.injector.clusterdns.io`));
    }, { timeoutMs: 30_000, what: 'a webhook entry for the new instance' });
    // The apiserver and the webhook's cache catch up a moment later.
    const pod = await eventually(async () => {
      const created = await createPod(tenant);
      assert.equal(injectedInto(created), `${SELECTED.name}@0.2.0`);
      return created;
    }, { timeoutMs: 30_000, what: 'a pod of the selected namespace injected' });
    assert.deepEqual(pod.spec.dnsConfig?.nameservers, [SELECTED.ip]);

    await kubeClient().request('DELETE', `${CLUSTERDNS_PATH}/${SELECTED.name}`);
    await eventually(async () => {
      const current = await kubeClient().request<Config>('GET', path);
      assert.ok(!current.webhooks.some((w) => w.name.startsWith(SELECTED.name)));
    }, { timeoutMs: 30_000, what: 'the entry removed with its instance' });
  });

  test('a deleted configuration is put back', async () => {
    const path = '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/clusterdns-injector';
    await kubeClient().request('DELETE', path);
    await eventually(async () => { await kubeClient().request('GET', path); }, { timeoutMs: 30_000, what: 'the configuration recreated' });
  });
});
