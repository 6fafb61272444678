/**
 * The engine coredns on the real control plane: the operator (as a process, with the RBAC of
 * config/rbac) renders CoreDNS instances, and local mode's runner (LocalResolvers) runs each
 * as a real CoreDNS process of its release on loopback, under the ServiceAccount the pods get
 * (KWOK's pods run no containers). The oldest and the newest supported releases answer the
 * cluster's names; a clusterdns instance and a CoreDNS one compare equal apart from the
 * intended differences; a version bump rolls as any other; a version the operator does not
 * run, or one that does not exist, is reported and stops nothing else.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { ClusterDNSStatus } from '../../src/api/clusterdns.ts';
import { CLUSTERDNS_PATH } from '../../src/api/names.ts';
import { resolverConfigFor } from '../../src/api/resolver-config.ts';
import { ask } from '../../src/compare/dns-client.ts';
import type { NormalisedAnswer } from '../../src/dns/answers.ts';
import { renderCorefile } from '../../src/coredns/corefile.ts';
import { dialectOf, NEWEST_COREDNS, OLDEST_COREDNS } from '../../src/coredns/releases.ts';
import { clusterDNSSpecSchema } from '../../src/api/clusterdns.ts';
import { CoreDNSBuilds } from '../../src/local/coredns-builds.ts';
import { prepareLaunch } from '../../src/local/launch.ts';
import { freePort, httpRequest } from '../../src/local/net.ts';
import { LocalResolvers } from '../../src/local/resolvers.ts';
import type { ServedInstance } from '../../src/local/resolvers.ts';
import { controlPlane, createNamespace, eventually, kubeClient, kubectl, kubectlOk } from '../support/cluster.ts';
import { OperatorProcess, SUITE_LABEL, installCrd, installRbac, serviceAccountKubeconfig } from '../support/operator.ts';
import type { InstalledRbac } from '../support/operator.ts';
import { deleteNamespace, listPods, podManifest } from '../support/pods.ts';
import { UpstreamServer } from '../resolver/upstream-server.ts';

const run = randomBytes(3).toString('hex');
const names = { old: `eng-${run}-old`, new: `eng-${run}-new`, ours: `eng-${run}-ours`, refused: `eng-${run}-refused`, missing: `eng-${run}-missing` };
const ENGINE_LABEL = 'test.clusterdns.io/engine';
const MAIN = join(import.meta.dirname, '..', '..', 'src', 'cli', 'main.ts');

interface Deployment { spec: { template: { metadata: { labels: Record<string, string> }; spec: { serviceAccountName: string; containers: Array<{ image: string; args: string[] }> } } } }
interface ClusterDNSObject { metadata: { generation: number }; status?: ClusterDNSStatus }

describe('the coredns engine', () => {
  let operatorNs = '';
  let apps = '';
  let dir = '';
  let rbac: InstalledRbac | undefined;
  let operator: OperatorProcess | undefined;
  let upstream: UpstreamServer;
  const stop = new AbortController();
  const runners: Array<Promise<void>> = [];
  let coredns: LocalResolvers;
  let clusterdns: LocalResolvers;
  const client = kubeClient();
  const logs: string[] = [];

  const apply = (name: string, spec: Record<string, unknown>): Promise<string> => kubectlOk(['apply', '-f', '-'], JSON.stringify({
    apiVersion: 'clusterdns.io/v1alpha1', kind: 'ClusterDNS',
    metadata: { name, labels: { [SUITE_LABEL]: operatorNs, [ENGINE_LABEL]: (spec['engine'] as string | undefined) ?? 'clusterdns' } },
    spec: { replicas: 1, ...spec },
  }));
  const cr = (name: string): Promise<ClusterDNSObject> => client.request<ClusterDNSObject>('GET', `${CLUSTERDNS_PATH}/${name}`);
  const condition = (object: ClusterDNSObject, type: string): string => {
    const c = object.status?.conditions?.find((x) => x.type === type);
    return c ? `${c.status}/${c.reason}: ${c.message}` : '(none)';
  };
  const deployment = (name: string): Promise<Deployment> => client.request<Deployment>('GET', `/apis/apps/v1/namespaces/${operatorNs}/deployments/${name}`);
  const served = (runner: LocalResolvers, name: string): ServedInstance | undefined => runner.served().find((i) => i.name === name);
  const waitServed = (runner: LocalResolvers, name: string, release?: string): Promise<ServedInstance> => eventually(() => {
    const instance = served(runner, name);
    assert.ok(instance?.ready, `${name} served: ${JSON.stringify(instance)}\n${logs.slice(-5).join('\n')}`);
    if (release) assert.equal(instance.release, release);
    return instance;
  }, { timeoutMs: 900_000, what: `${name} served on loopback` });
  const waitAvailable = (name: string, version: string): Promise<ClusterDNSObject> => eventually(async () => {
    const object = await cr(name);
    assert.match(condition(object, 'Available'), /^True/);
    assert.equal(object.status?.version, version);
    assert.equal(object.status.observedGeneration, object.metadata.generation);
    return object;
  }, { timeoutMs: 60_000, what: `${name} Available at ${version}` });
  const askOf = (instance: ServedInstance, name: string, type: 'A' | 'SRV' | 'PTR' | 'CNAME' | 'TXT'): Promise<NormalisedAnswer> =>
    ask({ host: instance.address, port: instance.port }, { name, type }, { timeoutMs: 2000, attempts: 2 });
  const records = (answer: NormalisedAnswer): string[] => ('error' in answer ? [`ERROR ${answer.error}`] : [answer.rcode, ...answer.answer]);
  /** The process' log ends with the banner of `release` (a restart appends to the same log). */
  const runsRelease = (name: string, release: string): Promise<void> => eventually(() => {
    const banners = readFileSync(controlPlane().logFile(`coredns-${name}`), 'utf8').match(/^CoreDNS-\S+$/gm) ?? [];
    assert.equal(banners.at(-1), `CoreDNS-${release}`);
  }, { timeoutMs: 10_000, what: `${name} runs CoreDNS ${release}` });

  let webIP = '';
  let podIPs: string[] = [];

  before(async () => {
    await installCrd(controlPlane());
    operatorNs = await createNamespace('eng-operator');
    apps = await createNamespace('eng-apps');
    dir = mkdtempSync(join(tmpdir(), 'clusterdns-engine-'));
    rbac = await installRbac(controlPlane(), operatorNs);
    operator = await OperatorProcess.start({ kubeconfig: rbac.operatorKubeconfig, namespace: operatorNs, selector: `${SUITE_LABEL}=${operatorNs}` });
    upstream = await UpstreamServer.start();
    upstream.set('example.com', 'A', { kind: 'answer', records: [{ type: 'A', name: 'example.com', ttl: 300, data: '192.0.2.80' }] });

    const post = (path: string, body: unknown): Promise<unknown> => client.request('POST', `/api/v1/namespaces/${apps}/${path}`, { body });
    await post('services', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' }, spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80 }] } });
    await post('services', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'db' }, spec: { clusterIP: 'None', selector: { app: 'db' }, ports: [{ name: 'pg', port: 5432 }] } });
    await post('services', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'docs' }, spec: { type: 'ExternalName', externalName: 'docs.example.com' } });
    for (const i of [0, 1]) await post('pods', podManifest({ name: `db-${i}`, labels: { app: 'db' }, spec: { hostname: `db-${i}`, subdomain: 'db' } }));
    await post('pods', podManifest({ name: 'web-0', labels: { app: 'web' } }));
    podIPs = await eventually(async () => {
      const ips = (await listPods(apps)).filter((p) => p.metadata.name.startsWith('db-')).map((p) => (p as { status?: { podIP?: string } }).status?.podIP ?? '');
      assert.equal(ips.filter(Boolean).length, 2);
      return ips.sort();
    }, { timeoutMs: 60_000, what: 'the db pods have IPs' });
    webIP = (await client.request<{ spec: { clusterIP: string } }>('GET', `/api/v1/namespaces/${apps}/services/web`)).spec.clusterIP;

    // CoreDNS runs with the token of the ServiceAccount its pods get; the resolver with its own.
    const builds = new CoreDNSBuilds({ log: (line) => { logs.push(line); process.stderr.write(`# ${line}\n`); } });
    const runner = (engine: 'coredns' | 'clusterdns', kubeconfigPath: string): LocalResolvers => new LocalResolvers({
      client, kubeconfigPath, dir, builds, upstream: upstream.address,
      labelSelector: `${SUITE_LABEL}=${operatorNs},${ENGINE_LABEL}=${engine}`,
      startProcess: (name, command, args) => controlPlane().startCompanion(name, command, args),
      logFile: (name) => controlPlane().logFile(name),
      log: (line) => { logs.push(line); },
      onChange: () => undefined,
    });
    coredns = runner('coredns', await serviceAccountKubeconfig(controlPlane(), operatorNs, 'clusterdns-coredns', dir));
    clusterdns = runner('clusterdns', await serviceAccountKubeconfig(controlPlane(), operatorNs, 'clusterdns-resolver', dir));
    runners.push(coredns.run(stop.signal), clusterdns.run(stop.signal));
  });

  after(async () => {
    try {
      stop.abort();
      await Promise.all(runners);
      await operator?.stop();
      for (const name of Object.values(names)) await kubectl(['delete', 'cdns', name, '--ignore-not-found', '--wait=false']);
      await rbac?.uninstall();
      if (operatorNs) await deleteNamespace(operatorNs);
      if (apps) await deleteNamespace(apps);
      await upstream.stop();
    } finally {
      if (dir) rmSync(dir, { recursive: true, force: true });
    }
  });

  /** What every engine and release must answer about the apps namespace. */
  async function answersTheClusterNames(instance: ServedInstance): Promise<void> {
    const svc = `svc.cluster.local.`;
    await eventually(async () => {
      assert.deepEqual(records(await askOf(instance, `web.${apps}.${svc}`, 'A')), ['NOERROR', `web.${apps}.${svc} A ${webIP}`]);
      assert.deepEqual(records(await askOf(instance, `db.${apps}.${svc}`, 'A')), ['NOERROR', ...podIPs.map((ip) => `db.${apps}.${svc} A ${ip}`)]);
    }, { timeoutMs: 30_000, what: `${instance.name} has synced` });
    const srv = records(await askOf(instance, `_pg._tcp.db.${apps}.${svc}`, 'SRV'));
    assert.deepEqual(srv.slice(1).map((r) => r.split(' ').at(-1)).sort(), [`db-0.db.${apps}.${svc}`, `db-1.db.${apps}.${svc}`]);
    assert.deepEqual(records(await askOf(instance, `docs.${apps}.${svc}`, 'CNAME')), ['NOERROR', `docs.${apps}.${svc} CNAME docs.example.com.`]);
    const reverse = `${webIP.split('.').reverse().join('.')}.in-addr.arpa.`;
    assert.deepEqual(records(await askOf(instance, reverse, 'PTR')), ['NOERROR', `${reverse} PTR web.${apps}.${svc}`]);
    assert.deepEqual(records(await askOf(instance, `10-244-9-9.${apps}.pod.cluster.local.`, 'A')), ['NOERROR', `10-244-9-9.${apps}.pod.cluster.local. A 10.244.9.9`]);
    assert.equal(records(await askOf(instance, `nothing.${apps}.${svc}`, 'A'))[0], 'NXDOMAIN');
    assert.deepEqual(records(await askOf(instance, 'example.com.', 'A')), ['NOERROR', 'example.com. A 192.0.2.80'], 'forwarded to the upstream');
  }

  for (const [key, release] of [['old', OLDEST_COREDNS], ['new', NEWEST_COREDNS]] as const) {
    test(`runs CoreDNS ${release} (the ${key === 'old' ? 'oldest' : 'newest'} supported) as an instance that answers the cluster's names`, async () => {
      const name = names[key];
      await apply(name, { engine: 'coredns', version: release });
      await waitAvailable(name, release);
      const template = (await deployment(name)).spec.template;
      const [container] = template.spec.containers;
      assert.equal(container?.image, `registry.k8s.io/coredns/coredns:v${release}`);
      assert.deepEqual(container.args, ['-conf', '/etc/coredns/Corefile']);
      assert.equal(template.spec.serviceAccountName, 'clusterdns-coredns');
      assert.equal(template.metadata.labels['app.kubernetes.io/version'], release);
      const config = await client.request<{ data: Record<string, string> }>('GET', `/api/v1/namespaces/${operatorNs}/configmaps/${name}`);
      const spec = clusterDNSSpecSchema.parse({ engine: 'coredns', version: release, replicas: 1 });
      assert.deepEqual(config.data, { Corefile: renderCorefile(resolverConfigFor(spec), dialectOf(release)) });

      const instance = await waitServed(coredns, name, release);
      await runsRelease(name, release);
      await answersTheClusterNames(instance);
    });
  }

  test('a clusterdns instance and a CoreDNS instance compare equal, apart from the intended differences', async () => {
    await apply(names.ours, { engine: 'clusterdns', version: '0.1.0' });
    const ours = await waitServed(clusterdns, names.ours);
    await answersTheClusterNames(ours);
    const theirs = await waitServed(coredns, names.new);
    const compare = (baseline: ServedInstance, candidate: ServedInstance): Promise<{ code: number; stdout: string; stderr: string }> => new Promise((resolve) => {
      execFile(process.execPath, [MAIN, 'compare', '--baseline', `${baseline.address}:${baseline.port}`, '--candidate', `${candidate.address}:${candidate.port}`,
        '--kubeconfig', controlPlane().kubeconfigPath, '--namespace', apps, '--output', 'json'], (error, stdout, stderr) => {
        resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr });
      });
    });
    const result = await compare(theirs, ours);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    const report = JSON.parse(result.stdout) as { kinds: unknown; asked: number; different: number; intended: Array<{ rule: string; name: string; type: string }> };
    assert.deepEqual(report.kinds, { baseline: 'other', candidate: 'clusterdns' });
    assert.equal(report.different, 0);
    assert.ok(report.asked > 20, `${report.asked} questions`);
    // CoreDNS bound to loopback has no address to name itself by: ns-at-the-apex is the loopback case.
    assert.deepEqual([...new Set(report.intended.map((d) => d.rule))].sort(), ['dns-version-and-ns-types', 'ns-at-the-apex', 'soa-below-the-apex', 'txt-at-existing-names']);
    // Between two CoreDNS releases every difference counts, even one of an intended shape:
    // 1.8.4 answers TXT at the names that exist without records NODATA, as the resolver does.
    const releases = await compare(await waitServed(coredns, names.old), theirs);
    assert.equal(releases.code, 1, releases.stdout + releases.stderr);
    const between = JSON.parse(releases.stdout) as { kinds: unknown; intended: unknown[]; differences: Array<{ name: string; type: string; baseline: { rcode: string }; candidate: { rcode: string } }> };
    assert.deepEqual(between.kinds, { baseline: 'other', candidate: 'other' });
    assert.deepEqual(between.intended, []);
    assert.deepEqual(between.differences.map((d) => `${d.name} ${d.type} ${d.baseline.rcode} ${d.candidate.rcode}`).sort(),
      [`${apps}.svc.cluster.local. TXT NOERROR NXDOMAIN`, 'svc.cluster.local. TXT NOERROR NXDOMAIN']);
  });

  test('a version bump rolls the pods as any other, and the process follows with the new release', async () => {
    const before = await waitServed(coredns, names.old, OLDEST_COREDNS);
    await kubectlOk(['patch', 'cdns', names.old, '--type=merge', '-p', JSON.stringify({ spec: { version: NEWEST_COREDNS } })]);
    await eventually(async () => {
      assert.equal((await deployment(names.old)).spec.template.spec.containers[0]?.image, `registry.k8s.io/coredns/coredns:v${NEWEST_COREDNS}`);
    }, { timeoutMs: 30_000, what: 'the Deployment runs the new image' });
    const object = await waitAvailable(names.old, NEWEST_COREDNS);
    assert.match(condition(object, 'Progressing'), new RegExp(`^False/RolloutComplete: all 1 replicas run version ${NEWEST_COREDNS.replaceAll('.', '\\.')}`));
    const config = await client.request<{ data: Record<string, string> }>('GET', `/api/v1/namespaces/${operatorNs}/configmaps/${names.old}`);
    assert.match(config.data['Corefile'] ?? '', /disable success cluster\.local/, 'the Corefile now in the newer dialect');
    const after = await waitServed(coredns, names.old, NEWEST_COREDNS);
    assert.equal(after.port, before.port, 'on the same port');
    await runsRelease(names.old, NEWEST_COREDNS);
    await answersTheClusterNames(after);
  });

  test('a version the operator does not run is refused, naming spec.version, and nothing else stops', async () => {
    await kubectlOk(['patch', 'cdns', names.new, '--type=merge', '-p', JSON.stringify({ spec: { version: '1.9.7' } })]);
    const refused = await eventually(async () => {
      const object = await cr(names.new);
      assert.match(condition(object, 'Degraded'), /^True\/UnknownVersion: spec\.version 1\.9\.7 is not a CoreDNS release; the nearest are 1\.9\.4 and 1\.10\.0/);
      return object;
    }, { timeoutMs: 30_000, what: 'Degraded/UnknownVersion' });
    assert.match(condition(refused, 'Available'), /^True/, 'the running version keeps answering');
    assert.equal(refused.status?.version, NEWEST_COREDNS);
    assert.equal((await deployment(names.new)).spec.template.spec.containers[0]?.image, `registry.k8s.io/coredns/coredns:v${NEWEST_COREDNS}`, 'the Deployment is left alone');
    const kept = await eventually(() => {
      const instance = served(coredns, names.new);
      assert.match(instance?.error ?? '', /spec\.version 1\.9\.7 is not a CoreDNS release/);
      return instance;
    }, { timeoutMs: 30_000, what: 'local mode reports the refusal' });
    assert.ok(kept?.ready, 'and keeps the old process answering');
    await answersTheClusterNames(kept);

    await apply(names.refused, { engine: 'coredns', version: '1.8.3' });
    await eventually(async () => {
      assert.match(condition(await cr(names.refused), 'Degraded'), /^True\/UnsupportedVersion: spec\.version 1\.8\.3 is older than the oldest CoreDNS release this operator runs/);
    }, { timeoutMs: 30_000, what: 'Degraded/UnsupportedVersion' });
    const created = await kubectl(['get', 'deployment', names.refused, '-n', operatorNs]);
    assert.notEqual(created.code, 0, 'no Deployment for a release it does not run');
    await eventually(() => { assert.match(served(coredns, names.refused)?.error ?? '', /1\.8\.3 is older .*; not served/); }, { timeoutMs: 30_000 });
    await answersTheClusterNames(await waitServed(coredns, names.old));
  });

  test('a release the Go module proxy does not have, asked for with an image of its own, fails to build with a clear error', async () => {
    await apply(names.missing, { engine: 'coredns', version: '1.99.0', image: 'registry.example/coredns:v1.99.0' });
    await eventually(async () => {
      assert.equal((await deployment(names.missing)).spec.template.spec.containers[0]?.image, 'registry.example/coredns:v1.99.0', 'the operator runs the image it is given');
    }, { timeoutMs: 30_000 });
    await eventually(() => {
      assert.equal(served(coredns, names.missing)?.error, 'CoreDNS 1.99.0 is not a release on the Go module proxy; not served');
    }, { timeoutMs: 120_000, what: 'the build fails' });
    assert.ok(logs.some((line) => /CoreDNS 1\.99\.0 is not a release on the Go module proxy/.test(line)));
    await answersTheClusterNames(await waitServed(coredns, names.old));
  });

  test('CoreDNS reads pods only with pods verified, under the ServiceAccount that may', async () => {
    const name = `eng-${run}-verified`;
    await apply(name, { engine: 'coredns', version: NEWEST_COREDNS, pods: 'verified' });
    try {
      await eventually(async () => { assert.equal((await deployment(name)).spec.template.spec.serviceAccountName, 'clusterdns-coredns-pods'); }, { timeoutMs: 30_000 });
      const spec = clusterDNSSpecSchema.parse({ engine: 'coredns', version: NEWEST_COREDNS, pods: 'verified' });
      const start = async (account: string): Promise<{ ready: () => Promise<boolean>; port: number; stop: () => Promise<void> }> => {
        const ports = { dns: await freePort(), health: await freePort(), ready: await freePort(), metrics: await freePort() };
        const launch = prepareLaunch({ engine: 'coredns', name: `${name}-${account}`, config: JSON.stringify(resolverConfigFor(spec)), coredns: { release: NEWEST_COREDNS, binary: await new CoreDNSBuilds({ log: () => undefined }).ensure(NEWEST_COREDNS) } },
          ports, { dir, kubeconfigPath: await serviceAccountKubeconfig(controlPlane(), operatorNs, account, dir), upstream: upstream.address });
        const child = controlPlane().startCompanion(launch.name, launch.command, launch.args);
        return {
          port: ports.dns,
          ready: async () => (await httpRequest({ url: `http://127.0.0.1:${ports.ready}/ready` }).catch(() => ({ status: 0 }))).status === 200,
          stop: () => child.stop(launch.stopGraceMs),
        };
      };
      const allowed = await start('clusterdns-coredns-pods');
      const denied = await start('clusterdns-coredns');
      try {
        await eventually(async () => { assert.ok(await allowed.ready()); }, { timeoutMs: 30_000, what: 'CoreDNS with pods verified syncs with clusterdns-coredns-pods' });
        const pod = `${(podIPs[0] ?? '').replaceAll('.', '-')}.${apps}.pod.cluster.local.`;
        const answer = await ask({ host: '127.0.0.1', port: allowed.port }, { name: pod, type: 'A' });
        assert.deepEqual(records(answer), ['NOERROR', `${pod} A ${podIPs[0] ?? ''}`]);
        assert.equal(records(await ask({ host: '127.0.0.1', port: allowed.port }, { name: `10-244-9-9.${apps}.pod.cluster.local.`, type: 'A' }))[0], 'NXDOMAIN', 'no such pod');
        // Without the pods grant it never syncs: the pods role is what verified needs, and only it.
        await new Promise((resolve) => setTimeout(resolve, 8000));
        assert.equal(await denied.ready(), false, 'clusterdns-coredns may not read pods');
      } finally {
        await Promise.all([allowed.stop(), denied.stop()]);
      }
    } finally {
      await kubectl(['delete', 'cdns', name, '--ignore-not-found', '--wait=false']);
    }
  });
});
