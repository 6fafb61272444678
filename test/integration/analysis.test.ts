/**
 * Canary analysis end to end: the real control plane with KWOK nodes, the operator (and its
 * webhook) as a real process under its RBAC, and real resolver processes on loopback that
 * run the configuration the operator rendered into each instance's ConfigMap (only the
 * addresses differ: the shadow baseline is a real resolver on loopback, in place of the
 * baseline Service's clusterIP, which KWOK's pods cannot serve). The operator reads their
 * summaries through --analysis-targets, as local mode does. Real packets throughout.
 *
 * - `pods: disabled` against a baseline with `pods: insecure`, while a client asks pod names:
 *   mismatches counted, AnswersMatch=False with an example, a Warning event.
 * - The same with `onMismatch: Rollback`: within one interval the clusterIP answers from the
 *   baseline (its endpoints, not the instance's), the injected pod keeps its nameserver,
 *   spec.routing stays as applied, and it never flips back by itself; a new value of the
 *   annotation clusterdns.io/analysis-restart starts afresh and gives the clusterIP back.
 * - Equal configurations: AnswersMatch=True, no mismatch.
 * - The baseline down: shadow errors counted, the clients answered, no rollback.
 * - Hostile summary endpoints beside an honest pod (an endless body, a trickle, silence,
 *   broken JSON, the wrong shape): the honest pod is counted, the operator stays up and
 *   within its memory.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { AnalysisStatus, ClusterDNSStatus, Condition } from '../../src/api/clusterdns.ts';
import { CLUSTERDNS_PATH } from '../../src/api/names.ts';
import { freePort } from '../../src/local/net.ts';
import { rssMiB } from '../resolver/hostile.ts';
import { startHostileSummaries } from '../support/hostile-summaries.ts';
import { ask, render } from '../dns/client.ts';
import { ResolverProcess } from '../resolver/process.ts';
import { BASELINE_IP, baselineAddresses, ensureBaseline } from '../support/baseline.ts';
import { controlPlane, createNamespace, eventually, kubeClient, kubectl, kubectlOk } from '../support/cluster.ts';
import { SUITE_LABEL, installCrd, installRbac } from '../support/operator.ts';
import type { InstalledRbac, OperatorProcess } from '../support/operator.ts';
import { readyAddresses, removeInstances, serviceSlices, startOperatorWithWebhook } from '../support/routing.ts';

interface ClusterDNSObject { metadata: { name: string; generation: number }; spec: { routing?: string }; status?: ClusterDNSStatus }

const run = randomBytes(3).toString('hex');
const names = { report: `an-${run}-report`, rollback: `an-${run}-rollback`, equal: `an-${run}-equal`, down: `an-${run}-down`, hostile: `an-${run}-hostile` };
const IPS = { report: '10.96.9.11', rollback: '10.96.9.12', equal: '10.96.9.13', down: '10.96.9.14', hostile: '10.96.9.15' };
const INTERVAL_MS = 2000;
const ANALYSIS = { sample: 100, interval: '2s', minQueries: 20, maxMismatchRatio: 0.05 };
const rollbackSpec = { version: '0.1.0', clusterIP: IPS.rollback, replicas: 2, pods: 'disabled', analysis: { ...ANALYSIS, onMismatch: 'Rollback' } };

interface StoredPod { spec: { dnsConfig?: { nameservers?: string[] } } }

describe('canary analysis', () => {
  let ns = '';
  let apps = '';
  let dir = '';
  let rbac: InstalledRbac | undefined;
  let operator: OperatorProcess | undefined;
  let baseline: ResolverProcess | undefined;
  const resolvers = new Map<string, ResolverProcess>();
  /** More health addresses listed for an instance, beside its resolver's. */
  const extraTargets = new Map<string, readonly string[]>();
  const client = kubeClient();
  const plane = controlPlane();
  const targetsFile = (): string => join(dir, 'analysis-targets.json');
  const writeTargets = (): void => {
    const instances = Object.fromEntries([...resolvers].map(([name, r]) => [name, [`127.0.0.1:${r.ports.healthPort}`, ...(extraTargets.get(name) ?? [])]]));
    writeFileSync(targetsFile(), JSON.stringify({ instances }));
  };
  const cr = (name: string): Promise<ClusterDNSObject> => client.request<ClusterDNSObject>('GET', `${CLUSTERDNS_PATH}/${name}`);
  const condition = (status: ClusterDNSStatus | undefined, type: string): Condition | undefined => status?.conditions?.find((c) => c.type === type);
  const manifest = (name: string, spec: Record<string, unknown>): string => JSON.stringify({
    apiVersion: 'clusterdns.io/v1alpha1', kind: 'ClusterDNS', metadata: { name, labels: { [SUITE_LABEL]: ns } }, spec,
  });
  /** A ClusterDNS with analysis, as a test reads it. */
  const view = async (name: string): Promise<{ status: ClusterDNSStatus; analysis: AnalysisStatus; serving?: Condition; answers?: Condition; routing: string }> => {
    const object = await cr(name);
    const status = object.status ?? {};
    assert.ok(status.analysis, `${name} has status.analysis`);
    const found = (type: string): { serving?: Condition; answers?: Condition } => {
      const c = condition(status, type);
      return c ? { [type === 'Serving' ? 'serving' : 'answers']: c } : {};
    };
    return { status, analysis: status.analysis, ...found('Serving'), ...found('AnswersMatch'), routing: object.spec.routing ?? 'Instance' };
  };
  const events = (name: string): Promise<string> => kubectlOk(['get', 'events', '-n', 'default', '--field-selector', `involvedObject.name=${name}`, '-o', 'jsonpath={range .items[*]}{.type} {.reason}: {.message}{"\\n"}{end}']);
  /** Applies an instance and runs its resolver with the configuration the operator rendered, shadowing `shadowBaseline`. */
  const instance = async (name: string, spec: Record<string, unknown>, shadowBaseline: string): Promise<ResolverProcess> => {
    await kubectlOk(['apply', '-f', '-'], manifest(name, spec));
    const rendered = await eventually(async () => {
      const map = await client.request<{ data?: Record<string, string> }>('GET', `/api/v1/namespaces/${ns}/configmaps/${name}`);
      const config = JSON.parse(map.data?.['resolver.json'] ?? '{}') as Record<string, unknown> & { shadow?: { baseline: string } };
      assert.equal(config.shadow?.baseline, BASELINE_IP, 'the operator renders the baseline Service\'s clusterIP');
      return config;
    }, { what: `${name}'s rendered configuration` });
    const { listenAddress: _a, port: _p, healthPort: _h, readyPort: _r, metricsPort: _m, ...config } = rendered;
    const resolver = await ResolverProcess.start({ kubeconfig: plane.kubeconfigPath, config: { ...config, shadow: { ...rendered.shadow, baseline: shadowBaseline } } });
    resolvers.set(name, resolver);
    writeTargets();
    return resolver;
  };
  /** Asks `count` questions (pod names when `pods`, else a Service) of a resolver, a few at a time. */
  const traffic = async (resolver: ResolverProcess, count: number, pods: boolean): Promise<void> => {
    let next = 0;
    await Promise.all(Array.from({ length: 4 }, async () => {
      while (next < count) {
        const i = next++;
        const name = pods ? `10-244-7-${(i % 200) + 1}.${apps}.pod.cluster.local` : `kubernetes.default.svc.cluster.local`;
        const answer = render(await ask(resolver.server, name, 'A', { timeoutMs: 5000 }));
        assert.equal(answer.rcode, pods ? 'NXDOMAIN' : 'NOERROR', `${name} from the instance`);
      }
    }));
  };

  before(async () => {
    await installCrd(plane);
    await ensureBaseline(plane);
    ns = await createNamespace('clusterdns-analysis');
    apps = await createNamespace('analysis-apps');
    rbac = await installRbac(plane, ns);
    dir = mkdtempSync(join(tmpdir(), 'clusterdns-analysis-test-'));
    writeTargets();
    baseline = await ResolverProcess.start({ kubeconfig: plane.kubeconfigPath, config: { pods: 'insecure' } });
    operator = await startOperatorWithWebhook(plane, {
      kubeconfig: rbac.operatorKubeconfig, namespace: ns, selector: `${SUITE_LABEL}=${ns}`, extraArgs: ['--analysis-targets', targetsFile()],
    });
  });

  after(async () => {
    await operator?.stop();
    await removeInstances(plane, Object.values(names));
    for (const resolver of resolvers.values()) await resolver.stop();
    await baseline?.stop();
    await rbac?.uninstall();
    for (const namespace of [ns, apps]) if (namespace) await kubectl(['delete', 'namespace', namespace, '--wait=false']);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('pods: disabled against a baseline with pods: insecure: mismatches counted, AnswersMatch=False with an example', async () => {
    const resolver = await instance(names.report, { version: '0.1.0', clusterIP: IPS.report, replicas: 2, pods: 'disabled', analysis: ANALYSIS }, `127.0.0.1:${baseline?.ports.port ?? 0}`);
    await traffic(resolver, 60, true);
    const object = await eventually(async () => {
      const o = await cr(names.report);
      assert.equal(condition(o.status, 'AnswersMatch')?.status, 'False', JSON.stringify(condition(o.status, 'AnswersMatch')));
      return o;
    }, { timeoutMs: 30_000, what: 'AnswersMatch False' });
    const analysis = object.status?.analysis;
    assert.ok(analysis);
    assert.ok(analysis.queries >= 20 && analysis.mismatches === analysis.queries, `${analysis.mismatches} of ${analysis.queries}`);
    assert.equal(analysis.ratio, 1);
    const example = analysis.examples?.[0];
    assert.ok(example);
    assert.match(example.question, new RegExp(`^10-244-7-\\d+\\.${apps}\\.pod\\.cluster\\.local\\. A$`));
    assert.equal(example.kind, 'rcode');
    assert.equal(example.answer, 'NXDOMAIN');
    assert.match(example.baseline, /^NOERROR 10\.244\.7\.\d+$/);
    const answers = condition(object.status, 'AnswersMatch');
    assert.ok(answers);
    assert.equal(answers.reason, 'AnswersDiffer');
    assert.match(answers.message, /differed \(100%\), more than 5%; e\.g\. 10-244-7-\d+\..* A: NXDOMAIN here, NOERROR 10\.244\.7\.\d+ at the baseline$/);
    assert.equal(object.status?.serving, 'Instance', 'Report does not act');
    assert.match(await events(names.report), /Warning AnswersDiffer: /);
    const row = (await kubectlOk(['get', 'cdns', names.report, '--no-headers'])).trim().split(/\s+/);
    assert.deepEqual(row.slice(0, 8), [names.report, 'clusterdns', '0.1.0', IPS.report, '2', 'Instance', 'True', '1'], 'the MISMATCH column');
  });

  let rolledBackAt = '';
  let rolledRevision = '';

  test('onMismatch: Rollback routes the clusterIP to the baseline within an interval; the injected pod keeps its nameserver', async () => {
    const resolver = await instance(names.rollback, rollbackSpec, `127.0.0.1:${baseline?.ports.port ?? 0}`);
    await eventually(async () => { assert.equal((await view(names.rollback)).serving?.reason, 'InstanceReady'); }, { what: 'serving itself first' });
    const injected = JSON.parse(await kubectlOk(['create', '-n', apps, '-o', 'json', '-f', '-'], JSON.stringify({
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'client', labels: { 'clusterdns.io/instance': names.rollback } },
      spec: { containers: [{ name: 'app', image: 'registry.invalid/app:1' }], terminationGracePeriodSeconds: 0 },
    }))) as StoredPod;
    assert.deepEqual(injected.spec.dnsConfig?.nameservers, [IPS.rollback]);

    await traffic(resolver, 40, true);
    const sent = Date.now();
    const rolled = await eventually(async () => {
      const v = await view(names.rollback);
      assert.equal(v.serving?.reason, 'AnalysisRolledBack');
      return v;
    }, { timeoutMs: 30_000, intervalMs: 50, what: 'the analysis rolling back' });
    const tookMs = Date.now() - sent;
    process.stderr.write(`# analysis: rolled back ${tookMs} ms after the mismatching queries (interval ${INTERVAL_MS} ms)\n`);
    // One interval for the next collection, plus reconcile and the machine's load.
    assert.ok(tookMs < INTERVAL_MS + 3000, `${tookMs} ms`);
    assert.equal(rolled.status.serving, 'Baseline');
    rolledBackAt = rolled.analysis.rolledBackAt ?? '';
    rolledRevision = rolled.analysis.revision;
    assert.notEqual(rolledBackAt, '');
    assert.match(rolled.serving?.message ?? '', /answers from the baseline kube-system\/kube-dns .*the analysis rolled back at .*e\.g\. 10-244-7-\d+\..* NXDOMAIN here/);
    assert.equal(rolled.routing, 'Instance', 'spec.routing is left as applied');
    const expected = await baselineAddresses(plane);
    await eventually(async () => { assert.deepEqual(readyAddresses(await serviceSlices(client, ns, names.rollback)), expected); }, { what: 'the clusterIP on the baseline\'s endpoints' });
    const pod = JSON.parse(await kubectlOk(['get', 'pod', '-n', apps, 'client', '-o', 'json'])) as StoredPod;
    assert.deepEqual(pod.spec.dnsConfig?.nameservers, [IPS.rollback], 'the injected pod keeps its nameserver, now answered by the baseline');
    assert.match(await events(names.rollback), /Warning AnalysisRolledBack: .*NXDOMAIN here, NOERROR 10\.244\.7\.\d+ at the baseline/);
  });

  test('the rollback stays through a kubectl apply of the same manifest and time; a new clusterdns.io/analysis-restart gives the clusterIP back', async () => {
    assert.notEqual(rolledBackAt, '', 'the previous test rolled back');
    await kubectlOk(['apply', '-f', '-'], manifest(names.rollback, rollbackSpec));
    await new Promise((resolve) => setTimeout(resolve, 3 * INTERVAL_MS));
    const still = await view(names.rollback);
    assert.equal(still.serving?.reason, 'AnalysisRolledBack');
    assert.equal(still.analysis.rolledBackAt, rolledBackAt);

    await kubectlOk(['annotate', 'cdns', names.rollback, `clusterdns.io/analysis-restart=${Date.now()}`]);
    const back = await eventually(async () => {
      const v = await view(names.rollback);
      assert.equal(v.serving?.reason, 'InstanceReady');
      return v;
    }, { timeoutMs: 30_000, what: 'the restarted analysis giving the clusterIP back' });
    assert.equal(back.analysis.rolledBackAt, undefined);
    assert.notEqual(back.analysis.revision, rolledRevision);
    assert.equal(back.analysis.mismatches, 0, 'counting starts afresh');
  });

  test('equal configurations: AnswersMatch=True, no mismatch', async () => {
    const resolver = await instance(names.equal, { version: '0.1.0', clusterIP: IPS.equal, replicas: 1, pods: 'insecure', analysis: ANALYSIS }, `127.0.0.1:${baseline?.ports.port ?? 0}`);
    let next = 0;
    await Promise.all(Array.from({ length: 4 }, async () => {
      while (next < 200) {
        const i = next++;
        const name = i % 2 === 0 ? `10-244-7-${(i % 200) + 1}.${apps}.pod.cluster.local` : 'kubernetes.default.svc.cluster.local';
        assert.equal(render(await ask(resolver.server, name, 'A')).rcode, 'NOERROR');
      }
    }));
    const v = await eventually(async () => {
      const current = await view(names.equal);
      assert.equal(current.answers?.status, 'True', JSON.stringify(current.answers));
      assert.ok(current.analysis.queries >= 200);
      return current;
    }, { timeoutMs: 30_000, what: 'AnswersMatch True over every query' });
    assert.equal(v.analysis.mismatches, 0);
    assert.equal(v.analysis.examples, undefined);
    assert.equal(v.answers?.reason, 'AnswersMatch');
  });

  test('the baseline down: shadow errors counted, clients answered, no rollback', async () => {
    const nobody = `127.0.0.1:${await freePort()}`;
    const resolver = await instance(names.down, { version: '0.1.0', clusterIP: IPS.down, replicas: 1, analysis: { ...ANALYSIS, onMismatch: 'Rollback' } }, nobody);
    await traffic(resolver, 50, false);
    const v = await eventually(async () => {
      const current = await view(names.down);
      assert.ok(current.analysis.errors >= 50, JSON.stringify(current.analysis));
      return current;
    }, { timeoutMs: 30_000, what: 'the shadow errors collected' });
    assert.equal(v.analysis.queries, 0);
    assert.equal(`${v.answers?.status ?? ''}/${v.answers?.reason ?? ''}`, 'Unknown/TooFewQueries');
    assert.match(v.answers?.message ?? '', /shadow queries got no answer from the baseline/);
    assert.equal(v.status.serving, 'Instance');
    assert.equal(v.serving?.reason, 'InstanceReady');
    assert.equal(v.analysis.rolledBackAt, undefined);
  });

  test('hostile summary endpoints beside an honest pod: the honest pod is counted, the operator stays up and within its memory', async () => {
    const hostile = await startHostileSummaries();
    try {
      const pid = operator?.pid ?? 0;
      const rssBefore = rssMiB(pid);
      extraTargets.set(names.hostile, hostile.addresses);
      const resolver = await instance(names.hostile, { version: '0.1.0', clusterIP: IPS.hostile, replicas: 1, pods: 'insecure', analysis: ANALYSIS }, `127.0.0.1:${baseline?.ports.port ?? 0}`);
      await traffic(resolver, 200, false);
      const v = await eventually(async () => {
        const current = await view(names.hostile);
        assert.ok(current.analysis.queries >= 200, JSON.stringify(current.analysis));
        assert.equal(current.answers?.status, 'True', JSON.stringify(current.answers));
        // Every hostile endpoint was read at least twice, so each attack really ran.
        assert.ok(hostile.connections().every((n) => n >= 2), `connections per hostile endpoint: ${hostile.connections().join(', ')}`);
        return current;
      }, { timeoutMs: 45_000, what: 'the honest pod counted while the hostile ones are read' });
      assert.equal(v.analysis.mismatches, 0);
      assert.equal(v.answers?.reason, 'AnswersMatch');
      assert.equal(operator?.exitCode, undefined, 'the operator still runs');
      const grown = rssMiB(pid) - rssBefore;
      assert.ok(grown < 64, `the operator grew by ${grown.toFixed(0)} MiB while reading the hostile endpoints`);
      // And it keeps reconciling: a change of spec is still taken up.
      await kubectlOk(['patch', 'cdns', names.hostile, '--type=merge', '-p', JSON.stringify({ spec: { replicas: 2 } })]);
      await eventually(async () => {
        const object = await cr(names.hostile);
        assert.equal(object.status?.observedGeneration, object.metadata.generation);
      }, { what: 'the next generation observed' });
    } finally {
      extraTargets.delete(names.hostile);
      writeTargets();
      await hostile.close();
    }
  });
});
