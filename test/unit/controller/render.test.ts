/** render(cr, config): the children a ClusterDNS should have, as a pure function. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseClusterDNS } from '../../../src/api/clusterdns.ts';
import type { ClusterDNS } from '../../../src/api/clusterdns.ts';
import { resolverConfigFor } from '../../../src/api/resolver-config.ts';
import { renderCorefile } from '../../../src/coredns/corefile.ts';
import { dialectOf } from '../../../src/coredns/releases.ts';
import { CONFIG_HASH_ANNOTATION, render } from '../../../src/controller/render.ts';
import type { Manifest, RenderConfig } from '../../../src/controller/render.ts';

const config: RenderConfig = { namespace: 'clusterdns-system', imageRepository: 'ghcr.io/clusterdns/clusterdns', corednsImageRepository: 'registry.k8s.io/coredns/coredns' };

/** The sample of config/samples, as the apiserver hands it to the operator (defaults filled in). */
function clusterDNS(spec: Record<string, unknown> = {}, name = 'kube-dns-2'): ClusterDNS {
  const parsed = parseClusterDNS({
    apiVersion: 'clusterdns.io/v1alpha1',
    kind: 'ClusterDNS',
    metadata: { name, uid: '3f9a0c52-7d1e-4a8b-9c6d-2e5f1a7b8c90', generation: 1 },
    spec: {
      version: '0.1.0', clusterIP: '10.96.0.20',
      injection: { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'demo' } } },
      ...spec,
    },
  });
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.value;
}

/** The parts of the children these tests read. */
interface Container {
  image: string;
  args: string[];
  ports: Array<{ containerPort: number; protocol: string }>;
  livenessProbe: { httpGet: unknown };
  readinessProbe: { httpGet: unknown };
  resources: unknown;
  securityContext: unknown;
  volumeMounts: unknown;
}
interface PodSpec {
  serviceAccountName: string;
  dnsPolicy: string;
  priorityClassName: string;
  terminationGracePeriodSeconds: number;
  securityContext: { runAsNonRoot: boolean };
  nodeSelector: unknown;
  tolerations: unknown;
  affinity?: unknown;
  topologySpreadConstraints: Array<{ topologyKey: string }>;
  containers: Container[];
  volumes: Array<{ configMap: { name: string } }>;
}
interface DeploymentSpec {
  selector: unknown;
  strategy: unknown;
  template: { metadata: { annotations: Record<string, string> }; spec: PodSpec };
}

function child(children: Manifest[], kind: Manifest['kind']): Manifest {
  const found = children.find((c) => c.kind === kind);
  assert.ok(found, `a ${kind} is rendered`);
  return found;
}

function specOf<T>(children: Manifest[], kind: Manifest['kind'], _shape?: T): T {
  return child(children, kind)['spec'] as T;
}
const deploymentOf = (children: Manifest[]): DeploymentSpec => specOf<DeploymentSpec>(children, 'Deployment');
const podSpecOf = (children: Manifest[]): PodSpec => deploymentOf(children).template.spec;
const containerOf = (children: Manifest[]): Container => podSpecOf(children).containers[0]!;

describe('render', () => {
  test('renders the sample instance (snapshot)', (t) => {
    t.assert.snapshot(render(clusterDNS(), config));
  });

  test('is deterministic: the same input gives byte-identical output', () => {
    assert.equal(JSON.stringify(render(clusterDNS(), config)), JSON.stringify(render(clusterDNS(), config)));
  });

  test('puts every child in the operator namespace with the standard labels and a controller reference to the ClusterDNS', () => {
    for (const manifest of render(clusterDNS(), config)) {
      assert.equal(manifest.metadata.name, 'kube-dns-2');
      assert.equal(manifest.metadata.namespace, 'clusterdns-system');
      assert.deepEqual(manifest.metadata.labels, {
        'app.kubernetes.io/name': 'clusterdns', 'app.kubernetes.io/instance': 'kube-dns-2',
        'app.kubernetes.io/version': '0.1.0', 'app.kubernetes.io/managed-by': 'clusterdns-operator',
      });
      assert.deepEqual(manifest.metadata.ownerReferences, [{
        apiVersion: 'clusterdns.io/v1alpha1', kind: 'ClusterDNS', name: 'kube-dns-2',
        uid: '3f9a0c52-7d1e-4a8b-9c6d-2e5f1a7b8c90', controller: true, blockOwnerDeletion: true,
      }]);
    }
  });

  const kindsRows: Array<[string, number, string[]]> = [
    ['no PodDisruptionBudget for one replica', 1, ['ConfigMap', 'Service', 'Deployment']],
    ['no PodDisruptionBudget for zero replicas', 0, ['ConfigMap', 'Service', 'Deployment']],
    ['a PodDisruptionBudget of minAvailable 1 for two replicas', 2, ['ConfigMap', 'Service', 'Deployment', 'PodDisruptionBudget']],
  ];
  for (const [title, replicas, kinds] of kindsRows) {
    test(title, () => {
      const children = render(clusterDNS({ replicas }), config);
      assert.deepEqual(children.map((c) => c.kind), kinds);
      if (replicas > 1) {
        const budget = specOf<{ minAvailable: number; selector: unknown }>(children, 'PodDisruptionBudget');
        assert.equal(budget.minAvailable, 1);
        assert.deepEqual(budget.selector, deploymentOf(children).selector);
      }
    });
  }

  test('renders the replicas it is given (autoscaling\'s figure), and the PodDisruptionBudget follows them', () => {
    const autoscaled = clusterDNS({ autoscaling: { nodesPerReplica: 16, min: 1 } });
    assert.deepEqual(render(autoscaled, config).map((c) => c.kind), ['ConfigMap', 'Service', 'Deployment'], 'without a figure: autoscaling\'s min');
    assert.equal(specOf<{ replicas: number }>(render(autoscaled, config, 7), 'Deployment').replicas, 7);
    assert.deepEqual(render(autoscaled, config, 7).map((c) => c.kind), ['ConfigMap', 'Service', 'Deployment', 'PodDisruptionBudget']);
    assert.equal(specOf<{ replicas: number }>(render(clusterDNS({}), config), 'Deployment').replicas, 2, 'neither replicas nor autoscaling: 2');
  });

  test('writes the resolver config of the spec into the ConfigMap', () => {
    const cr = clusterDNS({ ttl: 5, pods: 'verified', stubDomains: { 'corp.example': ['10.0.0.53'] } });
    assert.deepEqual(child(render(cr, config), 'ConfigMap')['data'], { 'resolver.json': JSON.stringify(resolverConfigFor(cr.spec)) });
  });

  test('gives the resolver the cache bound of the spec (16 MiB by default)', () => {
    const cacheMiBOf = (spec: Record<string, unknown>): unknown => {
      const data = child(render(clusterDNS(spec), config), 'ConfigMap')['data'] as Record<string, string>;
      return (JSON.parse(data['resolver.json'] ?? '{}') as { upstream: { cacheMiB: unknown } }).upstream.cacheMiB;
    };
    assert.equal(cacheMiBOf({}), 16);
    assert.equal(cacheMiBOf({ upstream: { cacheMiB: 48 } }), 48);
  });

  test('rolls the pods when the resolver config changes, and only then', () => {
    const hashOf = (spec: Record<string, unknown>): string | undefined => deploymentOf(render(clusterDNS(spec), config)).template.metadata.annotations[CONFIG_HASH_ANNOTATION];
    assert.notEqual(hashOf({ ttl: 5 }), hashOf({ ttl: 30 }), 'a new TTL changes the pod template');
    assert.equal(hashOf({ replicas: 3 }), hashOf({ replicas: 2 }), 'scaling does not');
  });

  test('with spec.analysis, the resolvers shadow the baseline address they are given, at the sample asked, knowing its engine', () => {
    const configOf = (manifests: Manifest[]): { shadow?: unknown } => JSON.parse((child(manifests, 'ConfigMap')['data'] as Record<string, string>)['resolver.json'] ?? '{}') as { shadow?: unknown };
    const kubeDNS = { address: '10.96.0.10', engine: 'coredns' } as const;
    const cr = clusterDNS({ analysis: { sample: 5 } });
    assert.deepEqual(configOf(render(cr, config, 2, kubeDNS)).shadow, { baseline: '10.96.0.10', baselineEngine: 'coredns', sample: 5, maxInFlight: 100, timeoutSeconds: 2 });
    assert.deepEqual(configOf(render(cr, config, 2, { address: '10.96.0.20', engine: 'clusterdns' })).shadow, { baseline: '10.96.0.20', baselineEngine: 'clusterdns', sample: 5, maxInFlight: 100, timeoutSeconds: 2 });
    assert.equal(configOf(render(cr, config, 2)).shadow, undefined, 'no baseline address, no shadowing');
    assert.equal(configOf(render(clusterDNS(), config, 2, kubeDNS)).shadow, undefined, 'no analysis, no shadowing');
    const hashOf = (manifests: Manifest[]): string | undefined => deploymentOf(manifests).template.metadata.annotations[CONFIG_HASH_ANNOTATION];
    assert.notEqual(hashOf(render(cr, config, 2, kubeDNS)), hashOf(render(clusterDNS(), config, 2)), 'turning shadowing on rolls the pods');
    assert.equal(hashOf(render(clusterDNS({ analysis: { sample: 5, interval: '5s', onMismatch: 'Rollback' } }), config, 2, kubeDNS)), hashOf(render(cr, config, 2, kubeDNS)),
      'what only the operator reads does not');
  });

  test('an engine coredns instance with spec.analysis renders its Corefile as without (CoreDNS has no shadow comparison)', () => {
    const corefileOf = (manifests: Manifest[]): string => Object.values(child(manifests, 'ConfigMap')['data'] as Record<string, string>).join('');
    const coredns = { engine: 'coredns', version: '1.11.1' };
    assert.equal(corefileOf(render(clusterDNS({ ...coredns, analysis: { sample: 5 } }), config, 2, { address: '10.96.0.10', engine: 'coredns' })), corefileOf(render(clusterDNS(coredns), config, 2)));
  });

  const imageRows: Array<[string, Record<string, unknown>, string]> = [
    ['runs <repository>:<version>', { version: '0.2.0' }, 'ghcr.io/clusterdns/clusterdns:0.2.0'],
    ['runs spec.image when set', { image: 'registry.example/dns@sha256:abc' }, 'registry.example/dns@sha256:abc'],
    ['treats an empty spec.image as unset', { image: '' }, 'ghcr.io/clusterdns/clusterdns:0.1.0'],
  ];
  for (const [title, spec, image] of imageRows) test(title, () => { assert.equal(containerOf(render(clusterDNS(spec), config)).image, image); });

  test('runs the resolver command on the mounted config file', () => {
    const children = render(clusterDNS(), config);
    assert.deepEqual(containerOf(children).args, ['resolver', '--config', '/etc/clusterdns/resolver.json']);
    assert.deepEqual(containerOf(children).volumeMounts, [{ name: 'config', mountPath: '/etc/clusterdns', readOnly: true }]);
    assert.equal(podSpecOf(children).volumes[0]?.configMap.name, 'kube-dns-2');
  });

  test('hardens the pod: non-root, read-only root filesystem, no capabilities, no privilege escalation', () => {
    const children = render(clusterDNS(), config);
    assert.equal(podSpecOf(children).securityContext.runAsNonRoot, true);
    assert.deepEqual(containerOf(children).securityContext, {
      allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ['ALL'] },
    });
  });

  test('exposes the resolver ports and probes them on /health and /ready', () => {
    const container = containerOf(render(clusterDNS(), config));
    assert.deepEqual(container.ports.map((p) => `${p.containerPort}/${p.protocol}`),
      ['1053/UDP', '1053/TCP', '8080/TCP', '8181/TCP', '9153/TCP']);
    assert.deepEqual(container.livenessProbe.httpGet, { path: '/health', port: 8080, scheme: 'HTTP' });
    assert.deepEqual(container.readinessProbe.httpGet, { path: '/ready', port: 8181, scheme: 'HTTP' });
  });

  test('asks the node for upstream DNS, is system-cluster-critical and outlives its lameduck on shutdown', () => {
    const pod = podSpecOf(render(clusterDNS(), config));
    assert.equal(pod.dnsPolicy, 'Default');
    assert.equal(pod.priorityClassName, 'system-cluster-critical');
    assert.ok(pod.terminationGracePeriodSeconds > resolverConfigFor(clusterDNS().spec).lameduckSeconds);
    assert.equal(pod.serviceAccountName, 'clusterdns-resolver');
  });

  const resolverAccounts: Array<[string, string, string]> = [
    ['disabled', 'clusterdns-resolver', 'reads no pods'],
    ['insecure', 'clusterdns-resolver', 'reads no pods (insecure answers from the name alone)'],
    ['verified', 'clusterdns-resolver-pods', 'may read pods, which verified needs'],
  ];
  for (const [pods, account, why] of resolverAccounts) {
    test(`the resolver runs as ${account} with pods ${pods}: it ${why}`, () => {
      assert.equal(podSpecOf(render(clusterDNS({ pods }), config)).serviceAccountName, account);
    });
  }

  test('rolls out without losing a ready replica and spreads pods across nodes', () => {
    const spec = deploymentOf(render(clusterDNS(), config));
    assert.deepEqual(spec.strategy, { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } });
    assert.equal(spec.template.spec.topologySpreadConstraints[0]?.topologyKey, 'kubernetes.io/hostname');
    assert.deepEqual(spec.selector, { matchLabels: { 'app.kubernetes.io/name': 'clusterdns', 'app.kubernetes.io/instance': 'kube-dns-2' } });
  });

  test('passes resources and placement from the spec, with kubeadm-like defaults otherwise', () => {
    const placed = { resources: { requests: { cpu: '1' } }, nodeSelector: { dns: 'yes' }, tolerations: [{ key: 'dns', operator: 'Exists' }], affinity: { podAntiAffinity: {} }, priorityClassName: 'dns-critical' };
    const pod = podSpecOf(render(clusterDNS(placed), config));
    assert.deepEqual([pod.containers[0]?.resources, pod.nodeSelector, pod.tolerations, pod.affinity, pod.priorityClassName],
      [placed.resources, placed.nodeSelector, placed.tolerations, placed.affinity, placed.priorityClassName]);
    const plain = podSpecOf(render(clusterDNS(), config));
    assert.deepEqual(plain.containers[0]?.resources, { requests: { cpu: '100m', memory: '70Mi' }, limits: { memory: '170Mi' } });
    assert.deepEqual(plain.nodeSelector, { 'kubernetes.io/os': 'linux' });
    assert.equal(plain.affinity, undefined);
  });

  const serviceRows: Array<[string, Record<string, unknown>, string | undefined]> = [
    ['asks for the requested clusterIP', { clusterIP: '10.96.0.20' }, '10.96.0.20'],
    ['lets Kubernetes allocate a clusterIP when none is given', { clusterIP: undefined }, undefined],
    ['lets Kubernetes allocate a clusterIP when it is empty', { clusterIP: '' }, undefined],
  ];
  for (const [title, spec, clusterIP] of serviceRows) {
    test(`Service: ${title}`, () => { assert.equal(specOf<{ clusterIP?: string }>(render(clusterDNS(spec), config), 'Service').clusterIP, clusterIP); });
  }

  test('Service: answers DNS on 53/UDP and 53/TCP and metrics on 9153, all on the resolver\'s ports', () => {
    assert.deepEqual(specOf<{ ports: unknown }>(render(clusterDNS(), config), 'Service').ports, [
      { name: 'dns', port: 53, protocol: 'UDP', targetPort: 1053 },
      { name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: 1053 },
      { name: 'metrics', port: 9153, protocol: 'TCP', targetPort: 9153 },
    ]);
  });

  describe('the coredns engine', () => {
    const coredns = (spec: Record<string, unknown> = {}): ClusterDNS => clusterDNS({ engine: 'coredns', version: '1.11.1', ...spec });

    test('renders a CoreDNS instance (snapshot)', (t) => {
      t.assert.snapshot(render(coredns(), config));
    });

    const imageRows: Array<[string, Record<string, unknown>, string]> = [
      ['runs <CoreDNS repository>:v<version>', { version: '1.12.0' }, 'registry.k8s.io/coredns/coredns:v1.12.0'],
      ['runs spec.image when set', { image: 'mirror.example/coredns:v1.16.0', version: '1.16.0' }, 'mirror.example/coredns:v1.16.0'],
    ];
    for (const [title, spec, image] of imageRows) test(title, () => { assert.equal(containerOf(render(coredns(spec), config)).image, image); });

    test('takes its image repository from the operator\'s configuration', () => {
      assert.equal(containerOf(render(coredns(), { ...config, corednsImageRepository: 'mirror.example/coredns' })).image, 'mirror.example/coredns:v1.11.1');
    });

    test('writes the Corefile of the spec (in the dialect of its version) into the ConfigMap and runs CoreDNS on it', () => {
      const cr = coredns({ ttl: 5, stubDomains: { 'corp.example': ['10.0.0.53'] } });
      const children = render(cr, config);
      assert.deepEqual(child(children, 'ConfigMap')['data'], { Corefile: renderCorefile(resolverConfigFor(cr.spec), dialectOf('1.11.1')) });
      assert.deepEqual(containerOf(children).args, ['-conf', '/etc/coredns/Corefile']);
      assert.deepEqual(containerOf(children).volumeMounts, [{ name: 'config', mountPath: '/etc/coredns', readOnly: true }]);
      assert.deepEqual(podSpecOf(children).volumes[0], { name: 'config', configMap: { name: 'kube-dns-2', items: [{ key: 'Corefile', path: 'Corefile' }] } });
    });

    test('keeps the contract of the clusterdns engine: ports, probes, Service, PDB, hardening, placement', () => {
      const [ours, theirs] = [render(clusterDNS(), config), render(coredns(), config)];
      const { image: _i, args: _a, volumeMounts: _v, ...container } = containerOf(theirs);
      const { image: _i2, args: _a2, volumeMounts: _v2, ...resolver } = containerOf(ours);
      assert.deepEqual(container, resolver);
      assert.deepEqual(child(theirs, 'Service')['spec'], child(ours, 'Service')['spec']);
      assert.deepEqual(child(theirs, 'PodDisruptionBudget')['spec'], child(ours, 'PodDisruptionBudget')['spec']);
      const strip = ({ serviceAccountName: _s, containers: _c, volumes: _vs, ...rest }: PodSpec): object => rest;
      assert.deepEqual(strip(podSpecOf(theirs)), strip(podSpecOf(ours)));
      assert.deepEqual(deploymentOf(theirs).strategy, deploymentOf(ours).strategy);
    });

    const accountRows: Array<[string, string, string]> = [
      ['disabled', 'clusterdns-coredns', 'reads no pods'],
      ['insecure', 'clusterdns-coredns', 'reads no pods (insecure answers from the name alone)'],
      ['verified', 'clusterdns-coredns-pods', 'may read pods, which verified needs'],
    ];
    for (const [pods, account, why] of accountRows) {
      test(`runs as ${account} with pods ${pods}: it ${why}`, () => { assert.equal(podSpecOf(render(coredns({ pods }), config)).serviceAccountName, account); });
    }

    test('a version bump changes the image and the version label; the Corefile only where the dialect differs', () => {
      const [old, bumped] = [render(coredns({ version: '1.9.0' }), config), render(coredns({ version: '1.15.0' }), config)];
      assert.equal(containerOf(bumped).image, 'registry.k8s.io/coredns/coredns:v1.15.0');
      assert.equal(child(bumped, 'Deployment').metadata.labels['app.kubernetes.io/version'], '1.15.0');
      assert.notDeepEqual(child(old, 'ConfigMap')['data'], child(bumped, 'ConfigMap')['data'], '1.9.0 has no cache disable');
      const same = [render(coredns({ version: '1.12.0' }), config), render(coredns({ version: '1.15.0' }), config)];
      assert.deepEqual(same.map((c) => child(c, 'ConfigMap')['data']), [child(bumped, 'ConfigMap')['data'], child(bumped, 'ConfigMap')['data']]);
    });

    test('rolls the pods when the Corefile changes, and only then', () => {
      const hashOf = (spec: Record<string, unknown>): string | undefined => deploymentOf(render(coredns(spec), config)).template.metadata.annotations[CONFIG_HASH_ANNOTATION];
      assert.notEqual(hashOf({ ttl: 5 }), hashOf({ ttl: 30 }));
      assert.equal(hashOf({ replicas: 3 }), hashOf({ replicas: 2 }));
    });
  });
});
