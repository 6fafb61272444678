/**
 * The webhook runs with nothing but the permissions in config/webhook/role.yaml: as a
 * service account bound to them, it creates its Secret and configuration and injects pods.
 * And config/rbac, as the apiserver decides it: the operator reaches no Secret but its own,
 * and only the resolvers that verify pod names may read pods.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeClient, loadKubeConfig } from '../../src/kube/client.ts';
import { repositoryRoot } from '../../src/local/repo.ts';
import { controlPlane, createNamespace, kubeClient, kubectlOk } from '../support/cluster.ts';
import { installRbac } from '../support/operator.ts';
import type { InstalledRbac } from '../support/operator.ts';
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

interface Access {
  readonly verb: string;
  readonly resource: string;
  readonly group?: string;
  readonly namespace?: string;
  readonly name?: string;
}

/** Whether the apiserver would let `user` do `access` (a SubjectAccessReview, as `kubectl auth can-i --as` asks). */
async function allowed(user: string, access: Access): Promise<boolean> {
  const review = await kubeClient().request<{ status: { allowed: boolean } }>('POST', '/apis/authorization.k8s.io/v1/subjectaccessreviews', {
    body: {
      apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview',
      spec: { user, resourceAttributes: { verb: access.verb, resource: access.resource, group: access.group ?? '', namespace: access.namespace ?? '', name: access.name ?? '' } },
    },
  });
  return review.status.allowed;
}

describe('config/rbac as the apiserver applies it', () => {
  let ns = '';
  let rbac: InstalledRbac | undefined;
  const account = (name: string): string => `system:serviceaccount:${ns}:${name}`;

  before(async () => {
    ns = await createNamespace('rbac');
    rbac = await installRbac(controlPlane(), ns);
  });

  after(async () => {
    await rbac?.uninstall();
    await deleteNamespace(ns);
  });

  test('the operator reaches the webhook Secret by name, creates Secrets, and reads or changes no other', async () => {
    const operator = account('clusterdns-operator');
    const secret = (verb: string, name?: string): Access => ({ verb, resource: 'secrets', namespace: ns, ...(name ? { name } : {}) });
    for (const verb of ['get', 'update', 'patch', 'watch']) assert.equal(await allowed(operator, secret(verb, 'clusterdns-webhook-tls')), true, `${verb} clusterdns-webhook-tls`);
    assert.equal(await allowed(operator, secret('create')), true, 'create (RBAC cannot limit it by name)');
    for (const verb of ['get', 'update', 'patch', 'delete']) assert.equal(await allowed(operator, secret(verb, 'someone-elses')), false, `${verb} another Secret`);
    assert.equal(await allowed(operator, secret('list')), false, 'list every Secret');
    assert.equal(await allowed(operator, secret('delete', 'clusterdns-webhook-tls')), false, 'delete its own');
    assert.equal(await allowed(operator, { verb: 'get', resource: 'secrets', namespace: 'kube-system', name: 'clusterdns-webhook-tls' }), false, 'a Secret of that name elsewhere');

    // And for real, with the operator's token: another Secret of its namespace stays out of reach.
    await kubeClient().request('POST', `/api/v1/namespaces/${ns}/secrets`, { body: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'someone-elses' }, stringData: { password: 'x' } } });
    const client = new KubeClient(loadKubeConfig(rbac?.operatorKubeconfig ?? ''));
    await assert.rejects(client.request('GET', `/api/v1/namespaces/${ns}/secrets/someone-elses`), /403/);
    await assert.rejects(client.request('GET', `/api/v1/namespaces/${ns}/secrets`), /403/);
  });

  test('only the resolvers that verify pod names may list pods; all read what they answer from', async () => {
    for (const name of ['clusterdns-resolver', 'clusterdns-resolver-pods', 'clusterdns-coredns', 'clusterdns-coredns-pods']) {
      const user = account(name);
      const readsPods = name.endsWith('-pods');
      assert.equal(await allowed(user, { verb: 'list', resource: 'pods' }), readsPods, `${name} list pods`);
      assert.equal(await allowed(user, { verb: 'watch', resource: 'pods' }), readsPods, `${name} watch pods`);
      for (const resource of ['services', 'namespaces']) assert.equal(await allowed(user, { verb: 'watch', resource }), true, `${name} watch ${resource}`);
      assert.equal(await allowed(user, { verb: 'list', resource: 'endpointslices', group: 'discovery.k8s.io' }), true, `${name} list endpointslices`);
      assert.equal(await allowed(user, { verb: 'get', resource: 'secrets', namespace: ns }), false, `${name} get secrets`);
    }
  });

  test('the operator cannot grant RBAC: no bind, no escalate, no RoleBindings', async () => {
    const operator = account('clusterdns-operator');
    assert.equal(await allowed(operator, { verb: 'bind', resource: 'clusterroles', group: 'rbac.authorization.k8s.io', name: 'clusterdns-resolver-pods' }), false);
    assert.equal(await allowed(operator, { verb: 'escalate', resource: 'clusterroles', group: 'rbac.authorization.k8s.io' }), false);
    assert.equal(await allowed(operator, { verb: 'create', resource: 'rolebindings', group: 'rbac.authorization.k8s.io', namespace: ns }), false);
  });
});
