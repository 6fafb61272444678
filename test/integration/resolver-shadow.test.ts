/**
 * Shadow comparison in real resolver processes, with real packets: a resolver with `shadow`
 * asks its baseline the questions its clients ask and compares the answers.
 *
 * - Against CoreDNS with kubeadm's configuration (the same as the resolver's), 10,000 and
 *   more shadowed queries over every name shape of the differential test give no unexpected
 *   mismatch, and the documented differences are counted apart as intended.
 * - A resolver with `pods: disabled` against CoreDNS with `pods insecure` counts an rcode
 *   mismatch for every pod name, with both answers in /shadow.
 * - With the baseline down, every client is answered as before, without waiting for it, and
 *   every shadowed query is counted as an error; with few slots in flight, the rest are skipped.
 * - A hostile baseline (forged answers first: another id, another question, another port;
 *   compression-pointer loops; silence; truncation then TCP) fakes no mismatch and costs no
 *   client its answer: the forgeries are ignored and the real answers compared.
 */
import assert from 'node:assert/strict';
import type { Answer } from 'dns-packet';
import { after, before, describe, test } from 'node:test';
import { shadowSummarySchema } from '../../src/api/shadow-summary.ts';
import type { ShadowSummary } from '../../src/api/shadow-summary.ts';
import { freePort } from '../../src/local/net.ts';
import { ask, render } from '../dns/client.ts';
import type { Server } from '../dns/client.ts';
import { CoreDNSProcess } from '../resolver/coredns.ts';
import { clusterState, questions } from '../resolver/differential.ts';
import type { Question } from '../resolver/differential.ts';
import { MEMORY_LIMIT_MIB, rssMiB } from '../resolver/hostile.ts';
import { ResolverProcess } from '../resolver/process.ts';
import { FORGED_ADDRESS, UpstreamServer } from '../resolver/upstream-server.ts';
import type { Behaviour } from '../resolver/upstream-server.ts';
import { controlPlane, createNamespace, eventually, kubeClient } from '../support/cluster.ts';
import { parsePrometheus, sumOf } from '../support/prometheus.ts';

const SHADOWED = 10_000;

describe('shadow comparison', () => {
  let upstream: UpstreamServer;
  let coredns: CoreDNSProcess | undefined;
  const resolvers: ResolverProcess[] = [];
  let ns = '';
  let other = '';

  const start = async (config: Record<string, unknown>): Promise<ResolverProcess> => {
    const resolver = await ResolverProcess.start({ kubeconfig: controlPlane().kubeconfigPath, config: { upstream: { nameservers: [upstream.address] }, ...config } });
    resolvers.push(resolver);
    return resolver;
  };
  const baselineOf = (server: Server): string => `${server.host}:${server.port}`;
  const summary = async (resolver: ResolverProcess): Promise<ShadowSummary> => {
    const response = await resolver.http(resolver.ports.healthPort, '/shadow');
    assert.equal(response.status, 200, response.body);
    return shadowSummarySchema.parse(JSON.parse(response.body));
  };
  /** The summary once nothing waits for the baseline any more and at least `queries` were asked. */
  const settled = (resolver: ResolverProcess, queries: number): Promise<ShadowSummary> => eventually(async () => {
    const s = await summary(resolver);
    const errors = s.errors.timeout + s.errors.unreachable + s.errors.malformed;
    assert.ok(s.queries >= queries, `${s.queries} of ${queries} shadowed`);
    assert.equal(s.compared + errors, s.queries, 'every shadowed query compared or an error');
    return s;
  }, { timeoutMs: 60_000, what: `${queries} shadowed queries settled` });
  /** Asks every question, `limit` at a time; returns each one's latency in ms. */
  const askAll = async (server: Server, list: readonly Question[], limit = 16): Promise<number[]> => {
    const latencies: number[] = [];
    let next = 0;
    await Promise.all(Array.from({ length: limit }, async () => {
      while (next < list.length) {
        const q = list[next++] as Question;
        const began = performance.now();
        await ask(server, q.name, q.type, { edns: 1232, timeoutMs: 5000 });
        latencies.push(performance.now() - began);
      }
    }));
    return latencies;
  };

  before(async () => {
    upstream = await UpstreamServer.start();
    upstream.set('db.example.test', 'A', { kind: 'answer', records: [{ type: 'A', name: 'db.example.test', ttl: 120, data: '192.0.2.10' }] });
    upstream.set('www.example.test', 'A', { kind: 'answer', records: [{ type: 'A', name: 'www.example.test', ttl: 120, data: '192.0.2.11' }] });
    ns = await createNamespace('shadow');
    other = await createNamespace('shadow-other');
    await clusterState(kubeClient(), ns, other);
    coredns = await CoreDNSProcess.start(controlPlane().kubeconfigPath, upstream.address);
  });

  after(async () => {
    for (const resolver of resolvers) await resolver.stop();
    await coredns?.stop();
    await upstream.stop();
  });

  test(`against CoreDNS with the same configuration: no unexpected mismatch in ${SHADOWED} shadowed queries, the intended ones apart`, async () => {
    const baseline = coredns?.server as Server;
    const resolver = await start({ pods: 'insecure', shadow: { baseline: baselineOf(baseline), baselineEngine: 'coredns', sample: 100, maxInFlight: 1000 } });
    const all = await questions(kubeClient(), ns, other);
    // Both have seen the whole state once the last object is answered alike.
    await eventually(async () => {
      const name = `ext-in.${ns}.svc.cluster.local`;
      const [a, b] = [await ask(resolver.server, name, 'A'), await ask(baseline, name, 'A')];
      assert.equal(a.answers?.length, 2);
      assert.equal(b.answers?.length, 2);
    }, { timeoutMs: 60_000, what: 'both servers synced' });
    const before = await settled(resolver, 0);
    const list = Array.from({ length: SHADOWED }, (_, i) => all[i % all.length] as Question);
    await askAll(resolver.server, list);
    const s = await settled(resolver, before.queries + SHADOWED);
    process.stderr.write(`# shadow against CoreDNS: ${s.compared} compared, mismatches ${JSON.stringify(s.mismatches)}, errors ${JSON.stringify(s.errors)}\n`);
    assert.equal(s.skipped, 0);
    assert.deepEqual(s.errors, { timeout: 0, unreachable: 0, malformed: 0 });
    assert.ok(s.compared >= SHADOWED);
    assert.deepEqual(s.latest.filter((m) => m.kind !== 'intended'), []);
    assert.deepEqual({ rcode: s.mismatches.rcode, answer: s.mismatches.answer }, { rcode: 0, answer: 0 });
    assert.ok(s.mismatches.intended > 0, 'the documented differences show up, counted as intended');
    assert.ok(s.latest.every((m) => m.rule !== undefined), 'every intended mismatch names its rule');

    const metrics = parsePrometheus(await resolver.metrics());
    assert.equal(sumOf(metrics, 'clusterdns_shadow_queries_total'), s.queries, 'the metrics add up every serving thread, as /shadow does');
    assert.equal(sumOf(metrics, 'clusterdns_shadow_mismatches_total', (l) => l['kind'] === 'intended'), s.mismatches.intended);
    assert.equal(sumOf(metrics, 'clusterdns_shadow_mismatches_total', (l) => l['kind'] !== 'intended'), 0);
    assert.equal(sumOf(metrics, 'clusterdns_shadow_errors_total'), 0);
  });

  test('pods: disabled against pods insecure: every pod name an rcode mismatch, both answers shown', async () => {
    const resolver = await start({ pods: 'disabled', shadow: { baseline: baselineOf(coredns?.server as Server), baselineEngine: 'coredns', sample: 100 } });
    const pods = Array.from({ length: 50 }, (_, i) => ({ name: `10-244-1-${i + 1}.${ns}.pod.cluster.local`, type: 'A', kind: 'object' }) satisfies Question);
    await askAll(resolver.server, pods);
    const s = await settled(resolver, pods.length);
    assert.equal(s.mismatches.rcode, pods.length);
    assert.equal(s.mismatches.answer + s.mismatches.intended, 0);
    const latest = s.latest[0];
    assert.ok(latest);
    assert.match(latest.question, new RegExp(`^10-244-1-\\d+\\.${ns}\\.pod\\.cluster\\.local\\. A$`));
    assert.equal(latest.kind, 'rcode');
    assert.equal(latest.answer, 'NXDOMAIN');
    assert.match(latest.baseline, /^NOERROR 10\.244\.1\.\d+$/);
    const metrics = parsePrometheus(await resolver.metrics());
    assert.equal(sumOf(metrics, 'clusterdns_shadow_mismatches_total', (l) => l['qtype'] === 'A' && l['kind'] === 'rcode'), pods.length);
  });

  test('with the baseline down, clients are answered without waiting for it and the shadow queries are errors', async () => {
    const nobody = `127.0.0.1:${await freePort()}`;
    const resolver = await start({ shadow: { baseline: nobody, sample: 100, maxInFlight: 1000, timeoutSeconds: 2 } });
    const web = render(await ask(resolver.server, `web.${ns}.svc.cluster.local`, 'A')).answer;
    assert.equal(web.length, 1);
    const list = Array.from({ length: 300 }, () => ({ name: `web.${ns}.svc.cluster.local`, type: 'A', kind: 'object' }) satisfies Question);
    const latencies = (await askAll(resolver.server, list, 4)).sort((a, b) => a - b);
    const p99 = latencies[Math.floor(latencies.length * 0.99)] ?? Infinity;
    // Waiting for the baseline would take its 2 s timeout; the answers come well before.
    assert.ok(p99 < 1000, `p99 ${p99.toFixed(1)} ms`);
    const again = render(await ask(resolver.server, `web.${ns}.svc.cluster.local`, 'A')).answer;
    assert.deepEqual(again, web);
    const s = await settled(resolver, list.length);
    assert.equal(s.compared, 0);
    assert.equal(s.skipped, 0);
    assert.equal(s.errors.timeout + s.errors.unreachable, s.queries);
    const metrics = parsePrometheus(await resolver.metrics());
    assert.equal(sumOf(metrics, 'clusterdns_shadow_errors_total'), s.queries);
  });

  test('a baseline that never answers holds at most maxInFlight shadow queries; the rest are skipped', async () => {
    const silent = await UpstreamServer.start();
    try {
      silent.set(`web.${ns}.svc.cluster.local`, 'A', { kind: 'silent' });
      const resolver = await start({ threads: 1, shadow: { baseline: silent.address, sample: 100, maxInFlight: 8, timeoutSeconds: 5 } });
      const list = Array.from({ length: 400 }, () => ({ name: `web.${ns}.svc.cluster.local`, type: 'A', kind: 'object' }) satisfies Question);
      const latencies = await askAll(resolver.server, list, 8);
      assert.equal(latencies.length, list.length, 'every client answered');
      const s = await summary(resolver);
      assert.ok(s.queries <= 8, `${s.queries} waiting for the baseline`);
      assert.ok(s.skipped >= list.length - 8, `${s.skipped} skipped`);
      assert.equal(silent.queries.length, s.queries);
    } finally {
      await silent.stop();
    }
  });

  test('a hostile baseline fakes no mismatch and costs no client its answer: forgeries ignored, the real answers compared', async () => {
    const hostile = await UpstreamServer.start();
    try {
      const resolver = await start({ threads: 2, shadow: { baseline: hostile.address, sample: 100, maxInFlight: 1000, timeoutSeconds: 1 } });
      const svc = (name: string, namespace = ns): string => `${name}.${namespace}.svc.cluster.local`;
      // What each name draws from the baseline; the real answers are the resolver's own.
      const plan: Array<[string, (records: Answer[]) => Behaviour, 'compared' | 'malformed' | 'timeout']> = [
        [svc('web'), (records) => ({ kind: 'forged', forgery: 'wrong-id', records }), 'compared'],
        [svc('single'), (records) => ({ kind: 'forged', forgery: 'wrong-question', records }), 'compared'],
        [svc('web', other), (records) => ({ kind: 'forged', forgery: 'wrong-port', records }), 'compared'],
        [`alpha.${svc('hl')}`, (records) => ({ kind: 'tcpOnly', records }), 'compared'],
        [svc('hl'), () => ({ kind: 'pointerLoop' }), 'malformed'],
        [svc('ext-in'), () => ({ kind: 'silent' }), 'timeout'],
      ];
      const expected = new Map<string, string[]>();
      for (const [name, behaviour] of plan) {
        const answer = await ask(resolver.server, name, 'A');
        expected.set(name, render(answer).answer);
        hostile.set(name, 'A', behaviour(answer.answers ?? []));
      }
      const before = await settled(resolver, 0);
      const rssBefore = rssMiB(resolver.pid);
      const ROUNDS = 25;
      const wrong: string[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        await Promise.all(plan.map(async ([name]) => {
          const got = render(await ask(resolver.server, name, 'A', { edns: 1232, timeoutMs: 3000 })).answer;
          if (JSON.stringify([...got].sort()) !== JSON.stringify([...(expected.get(name) ?? [])].sort())) wrong.push(`${name}: ${got.join(', ')}`);
        }));
      }
      assert.deepEqual(wrong, [], 'every client answered as before');
      const s = await settled(resolver, before.queries + ROUNDS * plan.length);
      const asked = (outcome: string): number => ROUNDS * plan.filter(([, , o]) => o === outcome).length;
      assert.equal(s.compared - before.compared, asked('compared'), 'the forged answers were ignored and the real ones compared');
      // (The questions asked above, before the baseline had its plan, drew NXDOMAIN from it: counted before.)
      const unexpected = (x: ShadowSummary): number => x.mismatches.rcode + x.mismatches.answer;
      assert.equal(unexpected(s) - unexpected(before), 0, JSON.stringify(s.latest.slice(0, 3)));
      assert.equal(s.errors.malformed - before.errors.malformed, asked('malformed'));
      assert.equal(s.errors.timeout - before.errors.timeout, asked('timeout'));
      assert.ok(!JSON.stringify(s).includes(FORGED_ADDRESS), 'no forged record reached the summary');
      assert.ok(hostile.count(`alpha.${svc('hl')}`, 'A', 'tcp') >= ROUNDS, 'truncated answers were asked again over TCP');
      assert.ok(rssMiB(resolver.pid) < MEMORY_LIMIT_MIB, `RSS ${rssMiB(resolver.pid).toFixed(0)} MiB (before ${rssBefore.toFixed(0)})`);
    } finally {
      await hostile.stop();
    }
  });
});
