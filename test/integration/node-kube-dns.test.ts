/**
 * The real node's own cluster DNS, as kubeadm installs it: the Deployment `coredns` and the
 * Service kube-system/kube-dns at 10.96.0.10 with kubeadm's Corefile, running CoreDNS's image
 * assembled here from the binary hack/build-binaries.sh builds. A pod with the default
 * `dnsPolicy: ClusterFirst` asks it (the kubelet's clusterDNS), it answers the cluster zone
 * with kubeadm's TTL, and it forwards other names to the node's stand-in upstream, never
 * further. Its process runs as the image's nonroot user with nothing but NET_BIND_SERVICE,
 * which the file capability keeps across exec despite no_new_privs.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { before, describe, test } from 'node:test';
import { KUBE_DNS } from '../../src/local/kube-dns.ts';
import { containerPid, dnsRequests, runToCompletion, toolsPod } from '../support/node-pods.ts';
import type { PodStatus } from '../support/node-pods.ts';
import { nodeNamespace, realNode } from '../support/real-node.ts';
import type { NodeUnderTest } from '../support/real-node.ts';

const { namespace: KUBE_SYSTEM, clusterIP: KUBE_DNS_IP } = KUBE_DNS;

async function kubeDNSPods(h: NodeUnderTest): Promise<PodStatus[]> {
  const list = await h.client.request<{ items: PodStatus[] }>('GET', `/api/v1/namespaces/${KUBE_SYSTEM}/pods?labelSelector=k8s-app%3Dkube-dns`);
  return list.items.filter((p) => !p.metadata.deletionTimestamp);
}

async function kubeDNSRequests(h: NodeUnderTest): Promise<number> {
  let total = 0;
  for (const pod of await kubeDNSPods(h)) total += await dnsRequests(h, pod);
  return total;
}

describe('real node: kube-dns as kubeadm installs it', () => {
  let h: NodeUnderTest;

  before(async () => { h = await realNode(); });

  test('two CoreDNS pods of the image built here are ready behind 10.96.0.10, with kubeadm\'s Corefile', async () => {
    const deployment = await h.client.request<{ status?: { readyReplicas?: number }; spec: { template: { spec: { containers: Array<{ image: string }> } } } }>(
      'GET', `/apis/apps/v1/namespaces/${KUBE_SYSTEM}/deployments/coredns`);
    assert.equal(deployment.status?.readyReplicas, 2);
    assert.equal(deployment.spec.template.spec.containers[0]?.image, h.images.coredns.name);
    assert.match(h.images.coredns.name, /^registry\.k8s\.io\/coredns\/coredns:v\d+\.\d+\.\d+$/);
    const service = await h.client.request<{ spec: { clusterIP: string; ports: Array<{ name: string; port: number; protocol: string }> } }>(
      'GET', `/api/v1/namespaces/${KUBE_SYSTEM}/services/kube-dns`);
    assert.equal(service.spec.clusterIP, KUBE_DNS_IP);
    assert.deepEqual(service.spec.ports.map((p) => `${p.name} ${p.port}/${p.protocol}`), ['dns 53/UDP', 'dns-tcp 53/TCP', 'metrics 9153/TCP']);
    const corefile = await h.kubectl.run(['-n', KUBE_SYSTEM, 'get', 'configmap', 'coredns', '-o', 'jsonpath={.data.Corefile}']);
    for (const line of ['health {', 'lameduck 5s', 'kubernetes cluster.local in-addr.arpa ip6.arpa {', 'ttl 30', 'forward . /etc/resolv.conf {', 'disable success cluster.local', 'loop', 'reload', 'loadbalance']) {
      assert.ok(corefile.includes(line), `the Corefile has ${line}`);
    }
    const pods = await kubeDNSPods(h);
    assert.equal(pods.length, 2);
    assert.ok(pods.every((p) => p.status?.containerStatuses?.every((c) => c.ready && c.restartCount === 0)), 'ready, never restarted');
  });

  test('a ClusterFirst pod asks kube-dns: the cluster zone with TTL 30, other names through the node\'s upstream', async () => {
    const namespace = await nodeNamespace(h, 'kube-dns');
    const external = Object.keys(h.upstreamRecords)[0] ?? '';
    const before = await kubeDNSRequests(h);
    // The upstream's log is the node's: earlier tests' resolvers asked it too.
    const upstreamBefore = h.node.upstreamQueries().length;
    const script = [
      'cat /etc/resolv.conf',
      'dig +noall +answer kubernetes.default.svc.cluster.local',
      `dig +short ${external}`,
      'nslookup kubernetes.default',
    ].join(' && ');
    const { phase, log } = await runToCompletion(h, namespace, toolsPod('ask', script));
    assert.equal(phase, 'Succeeded', log);
    assert.match(log, new RegExp(`^nameserver ${KUBE_DNS_IP.replace(/\./g, '\\.')}$`, 'm'), 'the kubelet gave the pod kube-dns');
    assert.match(log, /^kubernetes\.default\.svc\.cluster\.local\.\s+30\s+IN\s+A\s+10\.96\.0\.1$/m, 'kubeadm\'s TTL, no cache in the cluster zone');
    assert.match(log, new RegExp(`^${(h.upstreamRecords[external] ?? '').replace(/\./g, '\\.')}$`, 'm'), log);
    assert.match(log, /Name:\s+kubernetes\.default\.svc\.cluster\.local\nAddress: 10\.96\.0\.1\b/, 'short names through the search path');
    const after = await kubeDNSRequests(h);
    assert.ok(after - before >= 4, `kube-dns counted ${after - before} queries`);
    const corednsIPs = (await kubeDNSPods(h)).map((p) => p.status?.podIP);
    const askers = h.node.upstreamQueries().slice(upstreamBefore).filter((q) => q.name === external).map((q) => q.from);
    assert.ok(askers.length > 0 && askers.every((ip) => corednsIPs.includes(ip)), `the upstream was asked by CoreDNS pods ${corednsIPs.join(', ')}: ${askers.join(', ')}`);
  });

  test('CoreDNS runs as nonroot 65532 with only NET_BIND_SERVICE, which binds it to port 53', async () => {
    const [pod] = await kubeDNSPods(h);
    assert.ok(pod);
    const status = readFileSync(`/proc/${await containerPid(h, pod, 'coredns')}/status`, 'utf8');
    const field = (name: string): string => new RegExp(`^${name}:\\s+(.*)$`, 'm').exec(status)?.[1]?.trim() ?? '';
    assert.equal(field('Uid').split(/\s+/)[0], '65532');
    assert.equal(field('Gid').split(/\s+/)[0], '65532');
    assert.equal(field('CapEff'), '0000000000000400', 'effective: CAP_NET_BIND_SERVICE only');
    assert.equal(field('CapBnd'), '0000000000000400');
    assert.equal(field('NoNewPrivs'), '1', 'allowPrivilegeEscalation: false');
  });
});
