/**
 * A rolling upgrade as a user does it (a version bump of the ClusterDNS, between two image
 * tags built here) while a pod queries the instance's clusterIP at a steady 200 queries/s
 * over UDP: no lookup fails. The resolvers' lameduck, the readiness gate and kube-proxy's
 * endpoint handling together make the old pods leave the Service before they stop answering.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { CLUSTERDNS_PATH } from '../../src/api/names.ts';
import { lastReport, loadPod } from '../support/dns-load.ts';
import type { LoadReport } from '../support/dns-load.ts';
import { applyInstance, createPod, deleteInstance, podLog, resolverPods, until, waitForPodReady } from '../support/node-pods.ts';
import { nodeNamespace, realNode } from '../support/real-node.ts';
import type { NodeUnderTest } from '../support/real-node.ts';

const INSTANCE = 'upgrade-dns';
const CLUSTER_IP = '10.96.0.21';
const QUERY = 'kubernetes.default.svc.cluster.local';

interface Status { status?: { version?: string; readyReplicas?: number; replicas?: number; observedGeneration?: number }; metadata: { generation?: number } }

describe('real node: a rolling upgrade under a steady load', () => {
  let h: NodeUnderTest;
  let namespace: string;
  const tag = (image: string): string => image.split(':').pop() ?? '';

  before(async () => {
    h = await realNode();
    await applyInstance(h, INSTANCE, { version: tag(h.images.current.name), clusterIP: CLUSTER_IP, replicas: 2 });
    namespace = await nodeNamespace(h, 'upgrade');
  });

  after(async () => { await deleteInstance(h, INSTANCE); });

  test('200 queries/s over UDP lose no lookup while every resolver pod is replaced by the next version', async () => {
    const from = tag(h.images.current.name);
    const to = tag(h.images.next.name);
    const oldPods = new Set((await resolverPods(h, INSTANCE)).map((p) => p.metadata.name));
    await createPod(h, namespace, loadPod('load', h.images.current.name, CLUSTER_IP, QUERY));
    await waitForPodReady(h, namespace, 'load');
    const report = async (): Promise<LoadReport> => lastReport(await podLog(h, namespace, 'load')) ?? { seconds: 0, lookups: 0, answered: 0, retried: 0, failed: 0, badAnswers: {}, longestGapMs: 0 };
    await until('the load to get answers', async () => (await report()).answered > 200);
    const warm = await report();

    const began = Date.now();
    await h.client.request('PATCH', `${CLUSTERDNS_PATH}/${INSTANCE}`, {
      body: { spec: { version: to } }, contentType: 'application/merge-patch+json',
    });
    await until(`every replica on ${to}`, async () => {
      const cr = await h.client.request<Status>('GET', `${CLUSTERDNS_PATH}/${INSTANCE}`);
      const pods = await resolverPods(h, INSTANCE);
      return cr.status?.version === to && cr.status.readyReplicas === 2 && pods.length === 2
        && pods.every((p) => !oldPods.has(p.metadata.name) && p.spec.containers.every((c) => c.image.endsWith(`:${to}`)));
    }, 300_000);
    const rolledMs = Date.now() - began;
    // The old pods' lameduck and the last in-flight lookups, then the final count.
    await sleep(8000);
    const final = await report();
    process.stderr.write(`# real node: upgrade ${from} -> ${to} in ${(rolledMs / 1000).toFixed(1)}s under load: ${JSON.stringify(final)} (before the bump: ${JSON.stringify(warm)})\n`);

    assert.ok(final.lookups - warm.lookups >= 200 * (rolledMs / 1000) * 0.8, `the load kept its rate (${final.lookups - warm.lookups} lookups in ${rolledMs} ms)`);
    assert.equal(final.failed, 0, `no failed lookup: ${JSON.stringify(final)}`);
    assert.deepEqual(final.badAnswers, {}, 'no error answers');
    assert.ok(final.answered >= final.lookups - 2 * 200, 'every lookup but the last second\'s got its answer');
  });
});
