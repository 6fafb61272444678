/**
 * config/default as a user installs it: rendered by the pinned kubectl's kustomize, checked
 * for what an operator Deployment must be (2 replicas, leader election, probes, hardened),
 * for least-privilege RBAC, and applied with server-side dry-run to the real apiserver.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { repositoryRoot } from '../../src/local/repo.ts';
import { kubectl, kubectlOk } from '../support/cluster.ts';

interface Rule { apiGroups?: string[]; resources?: string[]; resourceNames?: string[]; verbs: string[] }
interface Container {
  name: string; args?: string[]; ports?: Array<{ name?: string; containerPort: number }>;
  livenessProbe?: { httpGet?: { path: string } }; readinessProbe?: { httpGet?: { path: string } };
  securityContext?: { allowPrivilegeEscalation?: boolean; readOnlyRootFilesystem?: boolean; runAsNonRoot?: boolean; capabilities?: { add?: string[]; drop?: string[] }; privileged?: boolean };
}
interface ManifestObject {
  kind: string;
  metadata: { name: string; namespace?: string };
  rules?: Rule[];
  subjects?: Array<{ kind: string; name: string; namespace?: string }>;
  spec?: {
    replicas?: number;
    selector?: Record<string, string>;
    ports?: Array<{ port: number; targetPort: number | string }>;
    template?: { metadata: { labels: Record<string, string> }; spec: { serviceAccountName?: string; hostNetwork?: boolean; securityContext?: { runAsNonRoot?: boolean; seccompProfile?: { type: string } }; containers: Container[] } };
  };
}

const DEFAULT = join(repositoryRoot(), 'config', 'default');
const NAMESPACE = 'clusterdns-system';
const WRITE_VERBS = new Set(['create', 'update', 'patch', 'delete', 'deletecollection', '*']);

describe('config/default', () => {
  let objects: ManifestObject[] = [];
  const find = (kind: string, name: string): ManifestObject => {
    const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
    assert.ok(found, `${kind} ${name} is rendered`);
    return found;
  };

  before(async () => {
    const rendered = await kubectlOk(['apply', '-k', DEFAULT, '--dry-run=client', '-o', 'json']);
    objects = (JSON.parse(rendered) as { items: ManifestObject[] }).items;
  });

  test('holds the CRD, the namespace, the operator, its webhook Service and RBAC', () => {
    const kinds = new Set(objects.map((o) => `${o.kind}/${o.metadata.name}`));
    for (const expected of [
      'CustomResourceDefinition/clusterdnses.clusterdns.io', `Namespace/${NAMESPACE}`, 'Deployment/clusterdns-operator',
      'Service/clusterdns-webhook', 'ServiceAccount/clusterdns-operator', 'ServiceAccount/clusterdns-resolver',
      'ClusterRole/clusterdns-resolver', 'PodDisruptionBudget/clusterdns-operator',
    ]) assert.ok(kinds.has(expected), `${expected} is in config/default`);
    assert.ok(!objects.some((o) => o.kind === 'ClusterDNS'), 'no sample instance is installed');
  });

  test('runs the operator with 2 replicas, leader election, probes and a hardened security context', () => {
    const deployment = find('Deployment', 'clusterdns-operator');
    assert.equal(deployment.metadata.namespace, NAMESPACE);
    assert.equal(deployment.spec?.replicas, 2);
    const pod = deployment.spec.template?.spec;
    assert.ok(pod);
    assert.equal(pod.serviceAccountName, 'clusterdns-operator');
    assert.notEqual(pod.hostNetwork, true);
    assert.equal(pod.securityContext?.runAsNonRoot, true);
    assert.equal(pod.securityContext.seccompProfile?.type, 'RuntimeDefault');
    const [container] = pod.containers;
    assert.ok(container);
    assert.equal(container.args?.[0], 'operator');
    assert.ok(container.args.includes('--leader-elect=true'));
    assert.equal(container.livenessProbe?.httpGet?.path, '/healthz');
    assert.equal(container.readinessProbe?.httpGet?.path, '/readyz');
    assert.deepEqual(container.securityContext, {
      allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ['ALL'] },
    });
  });

  test('points the webhook Service at the operator pods\' webhook port', () => {
    const deployment = find('Deployment', 'clusterdns-operator');
    const service = find('Service', 'clusterdns-webhook');
    assert.equal(service.metadata.namespace, NAMESPACE);
    const podLabels = deployment.spec?.template?.metadata.labels ?? {};
    for (const [key, value] of Object.entries(service.spec?.selector ?? {})) assert.equal(podLabels[key], value, `pods carry ${key}=${value}`);
    const webhookPort = deployment.spec?.template?.spec.containers[0]?.ports?.find((p) => p.name === 'webhook')?.containerPort;
    assert.deepEqual(service.spec?.ports?.map((p) => [p.port, p.targetPort]), [[443, webhookPort]]);
    assert.equal(webhookPort, 9443);
  });

  test('grants least privilege: no wildcard, cluster-wide writes only to its webhook configuration and ClusterDNS status', () => {
    const roles = objects.filter((o) => o.kind === 'ClusterRole' || o.kind === 'Role');
    assert.ok(roles.length >= 4);
    for (const role of roles) {
      for (const rule of role.rules ?? []) {
        for (const list of [rule.verbs, rule.resources ?? [], rule.apiGroups ?? []]) assert.ok(!list.includes('*'), `${role.kind} ${role.metadata.name} has no wildcard`);
        const writes = rule.verbs.filter((verb) => WRITE_VERBS.has(verb));
        if (role.kind === 'ClusterRole' && writes.length > 0) {
          for (const resource of rule.resources ?? []) {
            assert.ok(['mutatingwebhookconfigurations', 'clusterdnses/status', 'clusterdnses/finalizers'].includes(resource),
              `ClusterRole ${role.metadata.name} writes ${resource} cluster-wide`);
          }
          // create cannot be limited to a name; every other write to webhook configurations is.
          if (rule.resources?.includes('mutatingwebhookconfigurations') && writes.some((verb) => verb !== 'create')) {
            assert.deepEqual(rule.resourceNames, ['clusterdns-injector'], `ClusterRole ${role.metadata.name} changes only clusterdns-injector`);
          }
        }
      }
      if (role.kind === 'Role') {
        assert.ok([NAMESPACE, 'default'].includes(role.metadata.namespace ?? ''), `Role ${role.metadata.name} is in ${NAMESPACE} (or default, for events)`);
        if (role.metadata.namespace === 'default') {
          assert.deepEqual([...new Set((role.rules ?? []).flatMap((r) => r.resources ?? []))], ['events'], 'only events in default');
        }
      }
    }
    const nodeRules = roles.flatMap((role) => (role.rules ?? []).filter((rule) => rule.resources?.includes('nodes')).map((rule) => ({ role: role.metadata.name, rule })));
    assert.deepEqual(nodeRules.map(({ role, rule }) => [role, rule.resources, [...rule.verbs].sort()]), [['clusterdns-operator', ['nodes'], ['list', 'watch']]],
      'the operator only lists and watches nodes (for spec.autoscaling), and nothing else touches them');
    const resolver = find('ClusterRole', 'clusterdns-resolver');
    const resolverVerbs = new Set((resolver.rules ?? []).flatMap((r) => r.verbs));
    assert.ok(resolverVerbs.has('watch') && [...resolverVerbs].every((verb) => ['get', 'list', 'watch'].includes(verb)), 'the resolvers only read');
  });

  test('applies to the real apiserver with server-side dry-run', async () => {
    // Dry-run creates nothing, so the namespaced objects need their namespace to exist.
    await kubectlOk(['apply', '--server-side', '--force-conflicts', '-f', join(repositoryRoot(), 'config', 'manager', 'namespace.yaml')]);
    const result = await kubectl(['apply', '--server-side', '--force-conflicts', '--dry-run=server', '-k', DEFAULT]);
    assert.equal(result.code, 0, result.stderr);
    const applied = result.stdout.trim().split('\n');
    assert.equal(applied.length, objects.length, result.stdout);
    for (const line of applied) assert.match(line, /serverside-applied \(server dry run\)$/);
  });
});
