/**
 * The hand procedure this product automates, on a real node: a pod pointed at the instance's
 * clusterIP by hand (dnsPolicy None) looks up a cluster name and an external name with
 * nslookup, and the answers come from the instance (its resolver pods count the queries, and
 * the external name reaches the node's upstream from a resolver pod, not from the client).
 * Then the same with a pod that only carries the opt-in label: the webhook in the operator's
 * pods injects the instance, and short names resolve through the injected search path.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { NODE_POD_CIDR } from '../../src/local/real-node.ts';
import { applyInstance, deleteInstance, getPod, instanceRequests, resolverPods, runToCompletion, toolsPod } from '../support/node-pods.ts';
import { nodeNamespace, realNode } from '../support/real-node.ts';
import type { NodeUnderTest } from '../support/real-node.ts';

const INSTANCE = 'kube-dns-2';
const CLUSTER_IP = '10.96.0.20';

describe('real node: DNS from pods through the instance\'s clusterIP', () => {
  let h: NodeUnderTest;
  let external: string;

  before(async () => {
    h = await realNode();
    external = Object.keys(h.upstreamRecords)[0] ?? '';
    const began = Date.now();
    await applyInstance(h, INSTANCE, { version: h.images.current.name.split(':').pop(), clusterIP: CLUSTER_IP, replicas: 2 });
    process.stderr.write(`# real node: ${INSTANCE} applied until answering at ${CLUSTER_IP}: ${((Date.now() - began) / 1000).toFixed(1)}s\n`);
  });

  after(async () => { await deleteInstance(h, INSTANCE); });

  test('a pod with dnsPolicy None and nameserver 10.96.0.20 gets both answers from the instance', async () => {
    const namespace = await nodeNamespace(h, 'hand');
    const before = await instanceRequests(h, INSTANCE);
    const pod = toolsPod('nslookup', `nslookup kubernetes.default.svc.cluster.local && nslookup ${external}`, {
      dnsPolicy: 'None', dnsConfig: { nameservers: [CLUSTER_IP] },
    });
    const { phase, log } = await runToCompletion(h, namespace, pod);
    assert.equal(phase, 'Succeeded', log);
    assert.match(log, new RegExp(`Server:\\s+${CLUSTER_IP.replace(/\./g, '\\.')}`), 'nslookup asked the clusterIP');
    assert.match(log, /Name:\s+kubernetes\.default\.svc\.cluster\.local\nAddress: 10\.96\.0\.1\b/, log);
    assert.match(log, new RegExp(`Name:\\s+${external.replace(/\./g, '\\.')}\\nAddress: ${h.upstreamRecords[external]?.replace(/\./g, '\\.') ?? ''}\\b`), log);
    // Each nslookup asks for A and AAAA: four queries at least, counted by the instance's pods.
    const after = await instanceRequests(h, INSTANCE);
    assert.ok(after - before >= 4, `the instance counted ${after - before} queries`);
    // The external name was forwarded by a resolver pod (pod addresses), never asked by the client directly.
    const askers = h.node.upstreamQueries().filter((q) => q.name === external).map((q) => q.from);
    const resolverIPs = (await resolverPods(h, INSTANCE)).map((p) => p.status?.podIP);
    assert.ok(askers.length > 0, 'the node\'s upstream was asked');
    assert.ok(askers.every((ip) => resolverIPs.includes(ip) && ip.startsWith(NODE_POD_CIDR.split('.').slice(0, 3).join('.'))), `askers ${askers.join(', ')} are resolver pods ${resolverIPs.join(', ')}`);
  });

  test('a pod that opts in by label is injected by the webhook and resolves short names through the search path', async () => {
    const namespace = await nodeNamespace(h, 'injected');
    const before = await instanceRequests(h, INSTANCE);
    const pod = toolsPod('short-names', 'cat /etc/resolv.conf && nslookup kubernetes.default', {}, { 'clusterdns.io/instance': INSTANCE });
    const { phase, log } = await runToCompletion(h, namespace, pod);
    assert.equal(phase, 'Succeeded', log);
    const stored = await getPod(h, namespace, 'short-names');
    assert.equal(stored.metadata.annotations?.['clusterdns.io/injected'], `${INSTANCE}@${h.images.current.name.split(':').pop() ?? ''}`);
    assert.equal(stored.spec.dnsPolicy, 'None');
    assert.deepEqual(stored.spec.dnsConfig?.nameservers, [CLUSTER_IP]);
    assert.match(log, new RegExp(`^search ${namespace}\\.svc\\.cluster\\.local svc\\.cluster\\.local cluster\\.local$`, 'm'), 'the kubelet wrote the injected search path');
    assert.match(log, /Name:\s+kubernetes\.default\.svc\.cluster\.local\nAddress: 10\.96\.0\.1\b/, log);
    const after = await instanceRequests(h, INSTANCE);
    assert.ok(after - before >= 2, `the instance counted ${after - before} queries`);
  });
});
