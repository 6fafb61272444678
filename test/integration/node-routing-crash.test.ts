/**
 * Every pod of an instance killed at once (SIGKILL of both resolver containers, as an OOM kill
 * or a crash of the version would do) while an injected pod queries its clusterIP: kube-dns
 * takes over until one of the instance's pods is ready again.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { RESOLVER_CONTAINER } from '../../src/api/names.ts';
import { applyInstance, containerPid, deleteInstance, isReady, resolverPods } from '../support/node-pods.ts';
import { BASELINE_TTL, figures, hold, INSTANCE_TTL, InjectedLoad, RATE, servingOf, SETTLE_MS } from '../support/node-routing.ts';
import { loadEvents } from '../support/dns-load.ts';
import { nodeNamespace, realNode } from '../support/real-node.ts';
import type { NodeUnderTest } from '../support/real-node.ts';

const INSTANCE = 'routing-crash';
const CLUSTER_IP = '10.96.0.32';

describe('real node: all of an instance\'s pods killed at once', () => {
  let h: NodeUnderTest;
  let namespace: string;

  before(async () => {
    h = await realNode();
    await applyInstance(h, INSTANCE, { version: h.images.current.name.split(':').pop(), clusterIP: CLUSTER_IP, replicas: 2, ttl: INSTANCE_TTL });
    namespace = await nodeNamespace(h, 'routing-crash');
  });

  after(async () => { await deleteInstance(h, INSTANCE); });

  test('kill -9 of both resolver containers: the baseline answers until one is ready again', async () => {
    const load = await InjectedLoad.start(h, namespace, INSTANCE, CLUSTER_IP);
    await hold(2000);
    const pods = await resolverPods(h, INSTANCE);
    assert.equal(pods.length, 2);
    const pids = await Promise.all(pods.map((p) => containerPid(h, p, RESOLVER_CONTAINER)));
    const killed = Date.now();
    for (const pid of pids) process.kill(pid, 'SIGKILL');
    const timeline: string[] = [];
    let last = '';
    let recovered = 0;
    while (Date.now() - killed < 90_000) {
      const s = await servingOf(h, INSTANCE);
      const ready = (await resolverPods(h, INSTANCE)).filter(isReady).length;
      const now = `${s?.serving ?? '?'}/${s?.reason ?? '?'} ready=${ready}`;
      if (now !== last) timeline.push(`+${Date.now() - killed}ms ${now}`);
      last = now;
      if (ready === 2 && s?.serving === 'Instance' && Date.now() - killed > 3000) { recovered = Date.now(); break; }
      await hold(100);
    }
    await hold(5000);
    const end = Date.now();
    const w = await load.window(killed, end);
    const answers = await load.changesSince(killed);
    const changes = answers.map((c) => `+${c.at - killed}ms TTL ${c.ttl}`);
    const events = loadEvents(await load.log()).filter((e) => e.at >= killed);
    const losses = events.map((e) => `+${e.at - killed}ms ${e.event} ${e.reason}`);
    const fellBack = answers.find((c) => c.ttl === BASELINE_TTL);
    const back = answers.find((c) => c.ttl === INSTANCE_TTL && c.at > (fellBack?.at ?? Infinity));
    const failures = events.filter((e) => e.event === 'failed');
    const lastFailure = failures.at(-1)?.at ?? killed;
    figures('kill -9 of both resolvers', w, {
      'kill → first baseline answer': (fellBack?.at ?? end) - killed, 'kill → last failed lookup': lastFailure - killed,
      'kill → first instance answer again': (back?.at ?? end) - killed, 'kill → both ready and serving Instance': recovered - killed,
    });
    process.stderr.write(`# timeline: ${timeline.join(' | ')}\n# answers: ${changes.join(' | ')}\n# losses (first 40): ${losses.slice(0, 40).join(' | ')}\n`);

    assert.ok(timeline.some((t) => t.includes('Baseline/FallbackNoReadyReplicas')), `status.serving fell back: ${timeline.join(' | ')}`);
    assert.ok(fellBack, 'kube-dns answered at the clusterIP');
    assert.ok(fellBack.at - killed < 10_000, `the fallback took ${fellBack.at - killed} ms`);
    // Lookups in flight or sent before kube-proxy moved the clusterIP fail (their retry too,
    // 1 s later); a lookup sent once kube-dns answers may not, beyond the moment kube-proxy
    // needs to drop the dead pods' conntrack flows: the loss is bounded to the switch. A
    // failure is judged by when its lookup was sent, not when it gave up (two timeouts later).
    const lastFailedSend = Math.max(killed, ...failures.map((e) => e.sent ?? e.at));
    assert.ok(lastFailedSend <= fellBack.at + 2500, `a lookup sent ${lastFailedSend - fellBack.at} ms after the fallback failed: ${losses.join(' | ')}`);
    assert.ok(w.failed <= RATE * ((fellBack.at - killed + 2500) / 1000), `failed ${w.failed}, more than the lookups of the switch`);
    assert.ok(back, 'the instance answered again once its pods were ready');
    assert.ok(recovered > 0, `both replicas ready and serving Instance within 90 s: ${timeline.join(' | ')}`);
    // Settled is counted from the operator's switch back, not from the first instance answer:
    // the restarted containers keep their pods' IPs, so a lookup whose conntrack flow kube-proxy
    // has not flushed yet can reach them while the clusterIP still routes to kube-dns.
    const settled = await load.window(recovered + SETTLE_MS, end);
    assert.equal(settled.failed, 0, 'no failure after the instance is back');
    assert.deepEqual(Object.keys(settled.ttls), [String(INSTANCE_TTL)], 'once it is back and settled, only the instance answers');
  });
});
