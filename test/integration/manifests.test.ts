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
  roleRef?: { name: string };
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

/**
 * The writes a ClusterRole rule may grant: only to the webhook configuration (by name, but for
 * create, which cannot be limited to one) and to ClusterDNS objects, which are only patched
 * (their finalizer), their status and finalizers subresources.
 */
function checkClusterWrites(role: string, rule: Rule, writes: readonly string[]): void {
  for (const resource of rule.resources ?? []) {
    assert.ok(['mutatingwebhookconfigurations', 'clusterdnses', 'clusterdnses/status', 'clusterdnses/finalizers'].includes(resource),
      `ClusterRole ${role} writes ${resource} cluster-wide`);
  }
  if (rule.resources?.includes('clusterdnses')) assert.deepEqual(writes, ['patch'], `ClusterRole ${role} only patches ClusterDNS objects`);
  if (rule.resources?.includes('mutatingwebhookconfigurations') && writes.some((verb) => verb !== 'create')) {
    assert.deepEqual(rule.resourceNames, ['clusterdns-injector'], `ClusterRole ${role} changes only clusterdns-injector`);
  }
}

describe('config/default', () => {
  let objects: ManifestObject[] = [];
  const find = (kind: string, name: string): ManifestObject => {
    const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
    assert.ok(found, `${kind} ${name} is rendered`);
    return found;
  };

  before(async () => {
    // Rendered without the live objects: a client-side dry-run apply would patch those that
    // earlier suites applied server-side (the CRD), which kubectl cannot do without the
    // last-applied annotation. `create` prints one JSON document an object.
    const rendered = await kubectlOk(['create', '-k', DEFAULT, '--dry-run=client', '-o', 'json']);
    objects = JSON.parse(`[${rendered.trim().replace(/^\}\n\{/gm, '},{')}]`) as ManifestObject[];
  });

  test('holds the CRD, the namespace, the operator, its webhook Service and RBAC', () => {
    const kinds = new Set(objects.map((o) => `${o.kind}/${o.metadata.name}`));
    for (const expected of [
      'CustomResourceDefinition/clusterdnses.clusterdns.io', `Namespace/${NAMESPACE}`, 'Deployment/clusterdns-operator',
      'Service/clusterdns-webhook', 'ServiceAccount/clusterdns-operator', 'ServiceAccount/clusterdns-resolver',
      'ClusterRole/clusterdns-resolver', 'PodDisruptionBudget/clusterdns-operator',
      'ServiceAccount/clusterdns-coredns', 'ServiceAccount/clusterdns-coredns-pods', 'ClusterRole/clusterdns-coredns', 'ClusterRole/clusterdns-coredns-pods',
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

  test('grants least privilege: no wildcard, cluster-wide writes only to its webhook configuration and ClusterDNS status and finalizers', () => {
    const roles = objects.filter((o) => o.kind === 'ClusterRole' || o.kind === 'Role');
    assert.ok(roles.length >= 4);
    for (const role of roles) {
      for (const rule of role.rules ?? []) {
        for (const list of [rule.verbs, rule.resources ?? [], rule.apiGroups ?? []]) assert.ok(!list.includes('*'), `${role.kind} ${role.metadata.name} has no wildcard`);
        const writes = rule.verbs.filter((verb) => WRITE_VERBS.has(verb));
        if (role.kind === 'ClusterRole' && writes.length > 0) checkClusterWrites(role.metadata.name, rule, writes);
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
    // Routing reads pods, Services and EndpointSlices cluster-wide (by label or name, see
    // config/rbac/cluster_role.yaml) and never writes them outside its namespace.
    const operator = find('ClusterRole', 'clusterdns-operator');
    for (const resource of ['pods', 'services', 'endpointslices']) {
      const verbs = (operator.rules ?? []).filter((r) => r.resources?.includes(resource)).flatMap((r) => r.verbs);
      assert.deepEqual(verbs.sort(), ['list', 'watch'], `the operator only lists and watches ${resource} cluster-wide`);
    }
    const resolver = find('ClusterRole', 'clusterdns-resolver');
    const resolverVerbs = new Set((resolver.rules ?? []).flatMap((r) => r.verbs));
    assert.ok(resolverVerbs.has('watch') && [...resolverVerbs].every((verb) => ['get', 'list', 'watch'].includes(verb)), 'the resolvers only read');
  });

  test('lets CoreDNS read what its kubernetes plugin watches, and pods only where it verifies pod names', () => {
    const grants = (role: string): string[] => (find('ClusterRole', role).rules ?? [])
      .flatMap((r) => (r.resources ?? []).map((resource) => `${(r.apiGroups ?? [''])[0] ?? ''}/${resource}:${[...r.verbs].sort().join(',')}`)).sort();
    assert.deepEqual(grants('clusterdns-coredns'), ['/namespaces:list,watch', '/services:list,watch', 'discovery.k8s.io/endpointslices:list,watch']);
    assert.deepEqual(grants('clusterdns-coredns-pods'), ['/pods:list,watch']);
    const bound = (role: string): string[] => objects.filter((o) => o.kind === 'ClusterRoleBinding' && o.roleRef?.name === role)
      .flatMap((o) => (o.subjects ?? []).map((s) => `${s.namespace ?? ''}/${s.name}`)).sort();
    assert.deepEqual(bound('clusterdns-coredns'), [`${NAMESPACE}/clusterdns-coredns`, `${NAMESPACE}/clusterdns-coredns-pods`]);
    assert.deepEqual(bound('clusterdns-coredns-pods'), [`${NAMESPACE}/clusterdns-coredns-pods`]);
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
