/**
 * A new instance whose pods can never become ready (its version names an image that does not
 * exist) is served by its baseline, kube-dns, from the start: the webhook injects pods into
 * it, and their lookups at its clusterIP work, answered by CoreDNS. Fixing the version moves
 * the clusterIP to the instance's own pods the moment one is ready, without a failed lookup.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { waitForAnswers } from '../../src/local/real-mode.ts';
import { deleteInstance, resolverPods } from '../support/node-pods.ts';
import { BASELINE_TTL, figures, hold, INSTANCE_TTL, InjectedLoad, SETTLE_MS, mixedMs, patchSpec, RATE, servingOf, sideRequests, waitServing } from '../support/node-routing.ts';
import { nodeNamespace, realNode } from '../support/real-node.ts';
import type { NodeUnderTest } from '../support/real-node.ts';

const INSTANCE = 'routing-new';
const CLUSTER_IP = '10.96.0.30';
const MISSING_VERSION = '0.0.0-no-such-image';

describe('real node: a new instance that cannot become ready answers from its baseline', () => {
  let h: NodeUnderTest;
  let namespace: string;

  before(async () => {
    h = await realNode();
    namespace = await nodeNamespace(h, 'routing-new');
  });

  after(async () => { await deleteInstance(h, INSTANCE); });

  test('injected pods are answered by kube-dns from the start; the fixed version takes over without a failed lookup', async () => {
    const applied = Date.now();
    await h.kubectl.apply({ objects: [{
      apiVersion: 'clusterdns.io/v1alpha1', kind: 'ClusterDNS', metadata: { name: INSTANCE },
      spec: { version: MISSING_VERSION, clusterIP: CLUSTER_IP, replicas: 2, ttl: INSTANCE_TTL },
    }] });
    const servingBaseline = await waitServing(h, INSTANCE, 'Baseline', 'FallbackNoReadyReplicas');
    // kube-proxy programs a new Service's clusterIP a moment after it exists, as for any
    // Service; what is under test is who answers there once it is programmed.
    await waitForAnswers(h.node, CLUSTER_IP, 'kubernetes.default.svc.cluster.local');
    process.stderr.write(`# real node routing: new instance with a missing image: serving Baseline ${servingBaseline - applied} ms after apply, its clusterIP answered ${Date.now() - applied} ms after apply\n`);

    const load = await InjectedLoad.start(h, namespace, INSTANCE, CLUSTER_IP);
    const started = Date.now();
    await hold(5000);
    const pods = await resolverPods(h, INSTANCE);
    assert.equal(pods.length, 2, 'the instance\'s pods exist');
    assert.ok(pods.every((p) => p.status?.containerStatuses?.every((c) => !c.ready && c.state?.['waiting'] !== undefined)), 'none of them can start');
    const onBaseline = await load.window(0, Date.now());
    figures('new instance, image missing, on the baseline', onBaseline);
    assert.equal(onBaseline.failed, 0, 'every lookup of the injected pod was answered');
    assert.deepEqual(Object.keys(onBaseline.ttls), [String(BASELINE_TTL)], 'every answer came from kube-dns');
    assert.deepEqual((await load.changesSince(0)).map((c) => c.ttl), [BASELINE_TTL], 'from the first answer on');

    const sidesBefore = await sideRequests(h, INSTANCE);
    const fixed = await patchSpec(h, INSTANCE, { version: h.images.current.name.split(':').pop() });
    const servingInstance = await waitServing(h, INSTANCE, 'Instance', 'InstanceReady');
    const first = await load.firstAnswer(INSTANCE_TTL, fixed);
    await hold(6000);
    const end = Date.now();
    const change = await load.window(fixed, end);
    const settled = await load.window(first.at + SETTLE_MS, end);
    const sidesAfter = await sideRequests(h, INSTANCE);
    const changes = await load.changesSince(fixed);
    figures('the version fixed: from the baseline to the instance', change, {
      'fix → status.serving Instance': servingInstance - fixed, 'fix → first instance answer': first.at - fixed,
      'status.serving → first instance answer': first.at - servingInstance, 'answer-side changes': String(changes.length), 'both sides answered for': mixedMs(changes),
    });

    assert.equal(change.failed, 0, `no failed lookup: ${JSON.stringify(change)}`);
    assert.ok(change.lookups >= RATE * ((end - fixed) / 1000) * 0.7, `the load kept its rate (${change.lookups} lookups in ${end - fixed} ms)`);
    assert.deepEqual(Object.keys(settled.ttls), [String(INSTANCE_TTL)], 'once the switch has settled every answer comes from the instance');
    assert.ok(sidesAfter.instance - sidesBefore.instance >= settled.answered * 0.9, `the instance's pods counted the queries (${sidesAfter.instance - sidesBefore.instance} of ${settled.answered})`);
    assert.ok(started < fixed);
    assert.equal((await servingOf(h, INSTANCE))?.serving, 'Instance');
    await load.unchanged();
  });
});
