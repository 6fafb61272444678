/**
 * The rollback without restarting pods, with real packets: `spec.routing: Baseline` moves an
 * injected pod's lookups at the instance's clusterIP to kube-dns, and `Instance` moves them
 * back, while the pod queries at a steady rate; no lookup fails, the injected pod is the same
 * pod with the same dnsConfig throughout, and the instance's own pods keep running untouched.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { applyInstance, deleteInstance, resolverPods } from '../support/node-pods.ts';
import { BASELINE_TTL, figures, hold, INSTANCE_TTL, InjectedLoad, SETTLE_MS, mixedMs, patchSpec, sideRequests, waitServing } from '../support/node-routing.ts';
import { nodeNamespace, realNode } from '../support/real-node.ts';
import type { NodeUnderTest } from '../support/real-node.ts';

const INSTANCE = 'routing-rollback';
const CLUSTER_IP = '10.96.0.31';
const HOLD_MS = 7000;

interface Switch { readonly to: 'Baseline' | 'Instance'; readonly ttl: number; readonly reason: string }

describe('real node: spec.routing Baseline and back under a steady load', () => {
  let h: NodeUnderTest;
  let namespace: string;

  before(async () => {
    h = await realNode();
    await applyInstance(h, INSTANCE, { version: h.images.current.name.split(':').pop(), clusterIP: CLUSTER_IP, replicas: 2, ttl: INSTANCE_TTL });
    namespace = await nodeNamespace(h, 'routing-rollback');
  });

  after(async () => { await deleteInstance(h, INSTANCE); });

  /** One switch: the change, status.serving, the first answer from the other side, then a steady stretch. */
  async function switchTo(load: InjectedLoad, step: Switch): Promise<void> {
    const sidesBefore = await sideRequests(h, INSTANCE);
    const changed = await patchSpec(h, INSTANCE, { routing: step.to });
    const serving = await waitServing(h, INSTANCE, step.to, step.reason);
    const first = await load.firstAnswer(step.ttl, changed);
    await hold(HOLD_MS);
    const end = Date.now();
    const whole = await load.window(changed, end);
    const settled = await load.window(first.at + SETTLE_MS, end);
    const sides = await sideRequests(h, INSTANCE);
    const changes = await load.changesSince(changed);
    process.stderr.write(`# answers: ${changes.map((c) => `+${c.at - changed}ms TTL ${c.ttl}`).join(' | ')}\n`);
    figures(`routing: ${step.to}`, whole, {
      'patch → status.serving': serving - changed, 'patch → first answer from the other side': first.at - changed,
      'answer-side changes': String(changes.length), 'both sides answered for': mixedMs(changes),
      'queries counted by instance / kube-dns': `${sides.instance - sidesBefore.instance} / ${sides.baseline - sidesBefore.baseline}`,
    });
    assert.equal(whole.failed, 0, `no failed lookup while switching to ${step.to}: ${JSON.stringify(whole)}`);
    assert.deepEqual(Object.keys(settled.ttls), [String(step.ttl)], `once the switch has settled every answer comes from the ${step.to === 'Baseline' ? 'baseline' : 'instance'}`);
    const counted = step.to === 'Baseline' ? sides.baseline - sidesBefore.baseline : sides.instance - sidesBefore.instance;
    assert.ok(counted >= settled.answered * 0.9, `that side's metrics counted the queries (${counted} of at least ${settled.answered})`);
  }

  test('no lookup fails; the answers come from kube-dns, then from the instance; no pod is recreated', async () => {
    const resolversBefore = (await resolverPods(h, INSTANCE)).map((p) => `${p.metadata.name} ${p.status?.containerStatuses?.[0]?.restartCount ?? -1}`).sort();
    const load = await InjectedLoad.start(h, namespace, INSTANCE, CLUSTER_IP);
    await hold(2000);
    const warm = await load.window(0);
    assert.deepEqual(Object.keys(warm.ttls), [String(INSTANCE_TTL)], 'the instance answers before the rollback');

    await switchTo(load, { to: 'Baseline', ttl: BASELINE_TTL, reason: 'RolledBack' });
    await switchTo(load, { to: 'Instance', ttl: INSTANCE_TTL, reason: 'InstanceReady' });

    await load.unchanged();
    const resolversAfter = (await resolverPods(h, INSTANCE)).map((p) => `${p.metadata.name} ${p.status?.containerStatuses?.[0]?.restartCount ?? -1}`).sort();
    assert.deepEqual(resolversAfter, resolversBefore, 'the instance\'s pods kept running, never restarted');
  });
});
