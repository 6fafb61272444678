/**
 * The webhook runs with nothing but the permissions in config/webhook/role.yaml: as a
 * service account bound to them, it creates its Secret and configuration and injects pods.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeClient } from '../../src/kube/client.ts';
import { repositoryRoot } from '../../src/local/repo.ts';
import { createNamespace, kubeClient, kubectlOk } from '../support/cluster.ts';
import { createClusterDNS, deleteClusterDNS, installClusterDnsCrd } from '../support/clusterdns.ts';
import { createPod, deleteNamespace, injectedInto } from '../support/pods.ts';
import { startWebhook } from '../support/webhook.ts';
import type { RunningWebhook } from '../support/webhook.ts';

const INSTANCE = 'wh-rbac';

/** A client that authenticates as `system:serviceaccount:<namespace>:<name>`. */
async function serviceAccountClient(namespace: string, name: string): Promise<KubeClient> {
  const admin = kubeClient();
  const token = await admin.request<{ status: { token: string } }>('POST', `/api/v1/namespaces/${namespace}/serviceaccounts/${name}/token`, {
    body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 3600 } },
  });
  const cluster = admin.config.getCurrentCluster();
  if (!cluster) throw new Error('no cluster in the admin kubeconfig');
  const config = new KubeConfig();
  config.loadFromOptions({
    clusters: [cluster],
    users: [{ name, token: token.status.token }],
    contexts: [{ name, cluster: cluster.name, user: name }],
    currentContext: name,
  });
  return new KubeClient(config);
}

describe('the webhook with the RBAC of config/webhook', () => {
  let operatorNs = '';
  let podsNs = '';
  let webhook: RunningWebhook | undefined;

  before(async () => {
    await installClusterDnsCrd();
    await createClusterDNS(INSTANCE, { version: '0.1.0' }, { clusterIP: '10.96.0.46', version: '0.1.0' });
    operatorNs = await createNamespace('wh-rbac-op');
    podsNs = await createNamespace('wh-rbac-pods');
    await kubeClient().request('POST', `/api/v1/namespaces/${operatorNs}/serviceaccounts`, {
      body: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'clusterdns-operator' } },
    });
    const roles = readFileSync(join(repositoryRoot(), 'config', 'webhook', 'role.yaml'), 'utf8').replaceAll('namespace: clusterdns-system', `namespace: ${operatorNs}`);
    await kubectlOk(['apply', '-n', operatorNs, '-f', '-'], roles);
  });

  after(async () => {
    await webhook?.remove();
    await kubectlOk(['delete', '--ignore-not-found', 'clusterrole/clusterdns-webhook', 'clusterrolebinding/clusterdns-webhook']);
    await deleteClusterDNS(INSTANCE);
    await deleteNamespace(podsNs);
    await deleteNamespace(operatorNs);
  });

  test('creates its certificate and configuration, and injects pods', async () => {
    webhook = await startWebhook({ namespace: operatorNs, client: await serviceAccountClient(operatorNs, 'clusterdns-operator') });
    const pod = await createPod(podsNs, { labels: { 'clusterdns.io/instance': INSTANCE } });
    assert.equal(injectedInto(pod), `${INSTANCE}@0.1.0`);
  });

  test('the service account may not read other Secrets', async () => {
    const client = await serviceAccountClient(operatorNs, 'clusterdns-operator');
    await assert.rejects(client.request('GET', `/api/v1/namespaces/${operatorNs}/secrets`), /403/);
  });
});
