/**
 * `clusterdns local` as a user runs it: a process of its own (with its own control plane),
 * its printed dig and compare lines run as printed, the cluster's own kube-dns as kubeadm
 * installs it, its state file read as a script would, more ClusterDNS objects applied with
 * the kubeconfig it printed (engine coredns among them), a second start refused, and Ctrl-C
 * leaving no process, port or temp dir behind. Names outside the cluster go to a test
 * upstream on loopback (`--upstream`), so nothing leaves the machine.
 */
import assert from 'node:assert/strict';
import { execFile, spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { Resolver } from 'node:dns/promises';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { resolverConfigFor } from '../../src/api/resolver-config.ts';
import { clusterDNSSpecSchema } from '../../src/api/clusterdns.ts';
import { renderCorefile } from '../../src/coredns/corefile.ts';
import { dialectOf, NEWEST_COREDNS } from '../../src/coredns/releases.ts';
import { readVersions, repositoryRoot } from '../../src/local/repo.ts';
import type { LocalState } from '../../src/local/state.ts';
import { eventually } from '../support/cluster.ts';
import { UpstreamServer } from '../resolver/upstream-server.ts';

const run = promisify(execFile);
const MAIN = join(repositoryRoot(), 'src', 'cli', 'main.ts');
const KUBE_DNS_VERSION = readVersions().kubeadmCoredns.replace(/^v/, '');

describe('clusterdns local', () => {
  const stateDir = mkdtempSync(join(tmpdir(), 'clusterdns-local-state-'));
  const stateFile = join(stateDir, 'local.json');
  let local: ChildProcess;
  let stdout = '';
  let stderr = '';
  let exited: Promise<number | null>;
  let upstream: UpstreamServer;

  const state = (): LocalState => JSON.parse(readFileSync(stateFile, 'utf8')) as LocalState;
  const resolverAt = (address: string): Resolver => {
    const resolver = new Resolver({ timeout: 2000, tries: 1 });
    resolver.setServers([address]);
    return resolver;
  };
  const kubectl = async (...args: string[]): Promise<string> => {
    const { kubectl: binary, kubeconfig } = state();
    return (await run(binary, args, { env: { ...process.env, KUBECONFIG: kubeconfig } })).stdout;
  };

  const apply = async (object: unknown): Promise<void> => {
    const child = spawn(state().kubectl, ['apply', '-f', '-'], { env: { ...process.env, KUBECONFIG: state().kubeconfig } });
    child.stdin.end(JSON.stringify(object));
    const [code] = await new Promise<[number | null]>((resolve) => child.once('exit', (c) => { resolve([c]); }));
    assert.equal(code, 0);
  };

  before(async () => {
    upstream = await UpstreamServer.start();
    for (const [name, ip] of [['kubernetes.io', '192.0.2.1'], ['example.com', '192.0.2.2']] as const) {
      upstream.set(name, 'A', { kind: 'answer', records: [{ type: 'A', name, ttl: 300, data: ip }] });
    }
    local = spawn(process.execPath, [MAIN, 'local', '--state-dir', stateDir, '--upstream', upstream.address], { stdio: ['ignore', 'pipe', 'pipe'] });
    local.stdout?.on('data', (chunk: Buffer) => { stdout += chunk.toString(); });
    local.stderr?.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
    exited = new Promise((resolve) => { local.once('exit', (code) => { resolve(code); }); });
    await eventually(() => {
      assert.ok(local.exitCode === null, `clusterdns local exited early:\n${stderr}`);
      assert.match(stdout, /Press Ctrl-C to stop/);
    }, { timeoutMs: 600_000, what: `the summary of clusterdns local (stderr so far:\n${stderr})` });
  });

  after(async () => {
    if (local.exitCode === null) {
      local.kill('SIGINT');
      await exited;
    }
    rmSync(stateDir, { recursive: true, force: true });
    await upstream.stop();
  });

  test('prints the ClusterDNS table, the kubeconfig and the pinned kubectl', () => {
    assert.match(stdout, /NAME\s+ENGINE\s+VERSION\s+CLUSTER-IP\s+READY\s+SERVING\s+AVAILABLE\s+MISMATCH\s+AGE/);
    assert.match(stdout, /^kube-dns-2\s+clusterdns\s+0\.1\.0\s+10\.96\.0\.20\s+2\s+Instance\s+True\s/m);
    const { kubeconfig, kubectl: binary } = state();
    assert.ok(stdout.includes(`export KUBECONFIG=${kubeconfig}`));
    assert.ok(stdout.includes(`alias kubectl=${binary}`));
    assert.ok(existsSync(kubeconfig) && existsSync(binary));
  });

  test('its dig lines answer as printed, with the demo Service\'s clusterIP', async () => {
    const webIP = (await kubectl('get', 'service', 'web', '-n', 'demo', '-o', 'jsonpath={.spec.clusterIP}')).trim();
    assert.match(webIP, /^10\.\d+\.\d+\.\d+$/);
    const digLines = [...stdout.matchAll(/^\s*(dig @\S+ -p \d+ \S+)/gm)].map((m) => m[1] ?? '');
    assert.equal(digLines.length, 2, 'one dig line for kube-dns and one per instance');
    for (const line of digLines) {
      const [command = '', ...args] = line.split(' ');
      const answer = (await run(command, [...args, '+short'])).stdout.trim();
      assert.equal(answer, webIP, `${line} answers ${webIP}`);
    }
  });

  test('local.json names kube-dns and each instance with its loopback resolver, which answers cluster names', async () => {
    const facts = state();
    assert.match(facts.apiserver, /^https:\/\/127\.0\.0\.1:\d+$/);
    assert.deepEqual(facts.instances.map((i) => [i.name, i.engine, i.version, i.clusterIP, i.ready]), [
      ['kube-dns', 'coredns', KUBE_DNS_VERSION, '10.96.0.10', true],
      ['kube-dns-2', 'clusterdns', '0.1.0', '10.96.0.20', true],
    ]);
    const instance = facts.instances.find((i) => i.name === 'kube-dns-2');
    assert.ok(instance);
    assert.match(instance.resolver, /^127\.0\.0\.1:\d+$/);
    // The summary comes once the demo is applied, not once its pods are ready.
    await eventually(async () => {
      const headless = await resolverAt(instance.resolver).resolve4('web-headless.demo.svc.cluster.local');
      assert.equal(headless.length, 2, 'both demo pods');
    }, { timeoutMs: 30_000, what: 'both demo pods behind web-headless' });
    assert.deepEqual(await resolverAt(instance.resolver).resolveTxt('dns-version.cluster.local'), [['1.1.0']]);
  });

  test('has the cluster\'s own kube-dns as kubeadm installs it, at 10.96.0.10, answered by CoreDNS of kubeadm\'s release', async () => {
    const service = JSON.parse(await kubectl('get', 'service', 'kube-dns', '-n', 'kube-system', '-o', 'json')) as { spec: { clusterIP: string; selector: Record<string, string> } };
    assert.equal(service.spec.clusterIP, '10.96.0.10');
    assert.deepEqual(service.spec.selector, { 'k8s-app': 'kube-dns' });
    const deployment = JSON.parse(await kubectl('get', 'deployment', 'coredns', '-n', 'kube-system', '-o', 'json')) as { spec: { template: { spec: { containers: Array<{ image: string }> } } }; status: { readyReplicas?: number } };
    assert.equal(deployment.spec.template.spec.containers[0]?.image, `registry.k8s.io/coredns/coredns:v${KUBE_DNS_VERSION}`);
    const corefile = (await kubectl('get', 'configmap', 'coredns', '-n', 'kube-system', '-o', 'jsonpath={.data.Corefile}'));
    const defaults = resolverConfigFor(clusterDNSSpecSchema.parse({ engine: 'coredns', version: KUBE_DNS_VERSION }));
    assert.equal(corefile, renderCorefile({ ...defaults, port: 53 }, dialectOf(KUBE_DNS_VERSION)));
    assert.match(corefile, /^\.:53 \{\n {4}errors\n/);

    const kubeDNS = state().instances.find((i) => i.name === 'kube-dns');
    assert.ok(kubeDNS?.ready);
    const kubernetesIP = (await kubectl('get', 'service', 'kubernetes', '-n', 'default', '-o', 'jsonpath={.spec.clusterIP}')).trim();
    assert.deepEqual(await resolverAt(kubeDNS.resolver).resolve4('kubernetes.default.svc.cluster.local'), [kubernetesIP]);
    assert.deepEqual(await resolverAt(kubeDNS.resolver).resolve4('kube-dns.kube-system.svc.cluster.local'), ['10.96.0.10']);
    assert.deepEqual(await resolverAt(kubeDNS.resolver).resolve4('example.com'), ['192.0.2.2'], 'names outside the cluster go to the upstream');
    const banner = readFileSync(join(dirname(state().kubeconfig), 'logs', 'coredns-kube-dns.log'), 'utf8');
    assert.ok(banner.includes(`CoreDNS-${KUBE_DNS_VERSION}\n`), 'the process is kubeadm\'s release');
  });

  test('its compare line exits 0: kube-dns and kube-dns-2 answer alike, apart from the intended differences', async () => {
    const alias = /^\s*alias clusterdns='(\S+) (\S+)'$/m.exec(stdout);
    assert.ok(alias, 'the summary says how to run clusterdns');
    const line = /^\s*(clusterdns compare --baseline \S+ --candidate \S+ --kubeconfig \S+)\s+# kube-dns-2$/m.exec(stdout)?.[1];
    assert.ok(line, `a compare line for kube-dns-2 in:\n${stdout}`);
    const [, ...args] = line.split(' ');
    const result = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(alias[1] ?? '', [alias[2] ?? '', ...args], (error, out, err) => { resolve({ code: error ? Number(error.code ?? 1) : 0, stdout: out, stderr: err }); });
    });
    assert.equal(result.code, 0, result.stdout + result.stderr);
    const summary = /^All (\d+) questions were answered the same, apart from (\d+) intended differences\.$/m.exec(result.stdout);
    assert.ok(summary, result.stdout);
    assert.match(result.stdout, /^Intended differences of clusterdns' resolver \(the candidate\) from CoreDNS/m);
    process.stderr.write(`# compare kube-dns (CoreDNS ${KUBE_DNS_VERSION}) against kube-dns-2: ${summary[1] ?? ''} questions, ${summary[2] ?? ''} intended differences, 0 unexpected\n${result.stdout.replace(/^/gm, '#   ')}\n`);
  });

  test('the demo pods were pointed at the sample instance by the webhook', async () => {
    const pods = JSON.parse(await kubectl('get', 'pods', '-n', 'demo', '-o', 'json')) as { items: Array<{ metadata: { annotations?: Record<string, string> }; spec: { dnsPolicy: string; dnsConfig?: { nameservers?: string[] } } }> };
    assert.equal(pods.items.length, 2);
    for (const pod of pods.items) {
      assert.equal(pod.spec.dnsPolicy, 'None');
      assert.deepEqual(pod.spec.dnsConfig?.nameservers, ['10.96.0.20']);
      assert.equal(pod.metadata.annotations?.['clusterdns.io/injected'], 'kube-dns-2@0.1.0');
    }
  });

  /** Applies a ClusterDNS with the printed kubectl and waits until local.json has it, ready. */
  const applyServed = async (name: string, spec: Record<string, unknown>): Promise<LocalState['instances'][number]> => {
    await apply({ apiVersion: 'clusterdns.io/v1alpha1', kind: 'ClusterDNS', metadata: { name }, spec });
    return eventually(() => {
      const instance = state().instances.find((i) => i.name === name && i.ready);
      assert.ok(instance, `${name} in local.json, ready`);
      return instance;
    }, { timeoutMs: 30_000, what: `${name} served` });
  };

  test('a ClusterDNS applied with the printed kubeconfig is served within seconds', async () => {
    const applied = Date.now();
    const served = await applyServed('kube-dns-3', { version: '0.2.0', clusterIP: '10.96.0.30', pods: 'disabled' });
    const seconds = (Date.now() - applied) / 1000;
    assert.ok(seconds < 30, `served after ${seconds.toFixed(1)} s`);
    const webIP = (await kubectl('get', 'service', 'web', '-n', 'demo', '-o', 'jsonpath={.spec.clusterIP}')).trim();
    assert.deepEqual(await resolverAt(served.resolver).resolve4('web.demo.svc.cluster.local'), [webIP]);
    assert.match(stdout, new RegExp(`kube-dns-3 is served: dig @127\\.0\\.0\\.1 -p ${served.resolver.split(':')[1] ?? ''} `));
    assert.match(stdout, new RegExp(`compare it with kube-dns: clusterdns compare --baseline \\S+ --candidate ${served.resolver.replaceAll('.', '\\.')} `));
  });

  test('an engine coredns instance runs as CoreDNS of its release; a version that does not exist is reported and stops nothing', async () => {
    await apply({ apiVersion: 'clusterdns.io/v1alpha1', kind: 'ClusterDNS', metadata: { name: 'coredns-4' }, spec: { engine: 'coredns', version: NEWEST_COREDNS, clusterIP: '10.96.0.40' } });
    const coredns = await eventually(() => {
      const instance = state().instances.find((i) => i.name === 'coredns-4' && i.ready);
      assert.ok(instance, 'coredns-4 in local.json, ready');
      return instance;
    }, { timeoutMs: 60_000, what: 'coredns-4 served' });
    assert.deepEqual([coredns.engine, coredns.clusterIP], ['coredns', '10.96.0.40']);
    const webIP = (await kubectl('get', 'service', 'web', '-n', 'demo', '-o', 'jsonpath={.spec.clusterIP}')).trim();
    assert.deepEqual(await resolverAt(coredns.resolver).resolve4('web.demo.svc.cluster.local'), [webIP]);
    assert.ok(readFileSync(join(dirname(state().kubeconfig), 'logs', 'coredns-coredns-4.log'), 'utf8').includes(`CoreDNS-${NEWEST_COREDNS}\n`));

    await apply({ apiVersion: 'clusterdns.io/v1alpha1', kind: 'ClusterDNS', metadata: { name: 'coredns-5' }, spec: { engine: 'coredns', version: '1.9.7', clusterIP: '10.96.0.50' } });
    const refused = await eventually(() => {
      const instance = state().instances.find((i) => i.name === 'coredns-5');
      assert.match(instance?.error ?? '', /spec\.version 1\.9\.7 is not a CoreDNS release/);
      return instance;
    }, { timeoutMs: 30_000, what: 'coredns-5 reported' });
    assert.equal(refused?.ready, false);
    await eventually(() => {
      assert.match(stdout, /^coredns-5 is not served: spec\.version 1\.9\.7 is not a CoreDNS release; the nearest are 1\.9\.4 and 1\.10\.0; not served$/m);
    }, { timeoutMs: 10_000, what: 'local mode says why coredns-5 is not served' });
    const degraded = await eventually(async () => {
      const condition = (await kubectl('get', 'cdns', 'coredns-5', '-o', 'jsonpath={.status.conditions[?(@.type=="Degraded")].reason}')).trim();
      assert.equal(condition, 'UnknownVersion');
      return condition;
    }, { timeoutMs: 30_000, what: 'coredns-5 Degraded' });
    assert.equal(degraded, 'UnknownVersion');
    for (const name of ['kube-dns', 'kube-dns-2', 'coredns-4']) {
      const instance = state().instances.find((i) => i.name === name);
      assert.ok(instance?.ready, `${name} still served`);
      assert.deepEqual(await resolverAt(instance.resolver).resolve4('web.demo.svc.cluster.local'), [webIP]);
    }
  });

  test('an instance with analysis shadows its baseline\'s loopback resolver, and the operator reports the differences', async () => {
    const served = await applyServed('kube-dns-6', {
      version: '0.2.0', clusterIP: '10.96.0.60', pods: 'disabled', baseline: { service: { namespace: 'clusterdns-system', name: 'kube-dns-2' } },
      analysis: { sample: 100, interval: '2s', minQueries: 10 },
    });
    // Pod names: kube-dns-2 (pods insecure) answers them, kube-dns-6 (pods disabled) does not.
    for (let i = 1; i <= 20; i++) await resolverAt(served.resolver).resolve4(`10-244-9-${i}.demo.pod.cluster.local`).catch(() => undefined);
    const answers = await eventually(async () => {
      const status = JSON.parse(await kubectl('get', 'cdns', 'kube-dns-6', '-o', 'jsonpath={.status}')) as { analysis?: { mismatches: number }; conditions?: Array<{ type: string; status: string; message: string }> };
      const condition = status.conditions?.find((c) => c.type === 'AnswersMatch');
      assert.equal(condition?.status, 'False', JSON.stringify(condition));
      assert.ok((status.analysis?.mismatches ?? 0) >= 10);
      return condition;
    }, { timeoutMs: 30_000, what: 'AnswersMatch False for kube-dns-6' });
    assert.match(answers.message, /e\.g\. 10-244-9-\d+\.demo\.pod\.cluster\.local\. A: NXDOMAIN here, NOERROR 10\.244\.9\.\d+ at the baseline$/);
  });

  test('against kube-dns (CoreDNS), equal answers match and the documented differences count apart', async () => {
    const served = await applyServed('kube-dns-7', { version: '0.2.0', clusterIP: '10.96.0.70', analysis: { sample: 100, interval: '2s', minQueries: 20 } });
    const webIP = (await kubectl('get', 'service', 'web', '-n', 'demo', '-o', 'jsonpath={.spec.clusterIP}')).trim();
    const resolver = resolverAt(served.resolver);
    for (let i = 1; i <= 20; i++) {
      assert.deepEqual(await resolver.resolve4('web.demo.svc.cluster.local'), [webIP]);
      await resolver.resolve4(`10-244-9-${i}.demo.pod.cluster.local`);
      await resolver.resolve4(`nosuch-${i}.demo.svc.cluster.local`).catch(() => undefined);
    }
    // TXT at svc.cluster.local: CoreDNS NXDOMAIN, the resolver NODATA (txt-at-existing-names).
    await resolver.resolveTxt('svc.cluster.local').catch(() => undefined);
    const status = await eventually(async () => {
      const cr = JSON.parse(await kubectl('get', 'cdns', 'kube-dns-7', '-o', 'jsonpath={.status}')) as { analysis?: { queries: number; mismatches: number; intended: number }; conditions?: Array<{ type: string; status: string; reason: string; message: string }> };
      const condition = cr.conditions?.find((c) => c.type === 'AnswersMatch');
      assert.equal(condition?.status, 'True', JSON.stringify(cr));
      assert.ok(cr.analysis && cr.analysis.intended >= 1, JSON.stringify(cr.analysis));
      return cr.analysis;
    }, { timeoutMs: 30_000, what: 'AnswersMatch True for kube-dns-7 against kube-dns' });
    assert.equal(status.mismatches, 0);
    assert.ok(status.queries >= 60);
    // The sample shadows kube-dns as well, at 1 %.
    const sample = await eventually(async () => {
      const reason = (await kubectl('get', 'cdns', 'kube-dns-2', '-o', 'jsonpath={.status.conditions[?(@.type=="AnswersMatch")].reason}')).trim();
      assert.match(reason, /^(TooFewQueries|AnswersMatch)$/);
      return reason;
    }, { timeoutMs: 30_000, what: 'the sample analyses against kube-dns' });
    assert.notEqual(sample, 'NoBaseline');
  });

  test('a second start says one is running and exits 1', () => {
    const second = spawnSync(process.execPath, [MAIN, 'local', '--state-dir', stateDir], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(second.status, 1);
    assert.match(second.stderr, new RegExp(`already running \\(pid ${String(local.pid)}\\)`));
  });

  test('Ctrl-C stops everything: no process, port, temp dir or state file is left', async () => {
    const facts = state();
    const planeDir = dirname(facts.kubeconfig);
    const ports = [Number(new URL(facts.apiserver).port), ...facts.instances.filter((i) => i.resolver).map((i) => Number(i.resolver.split(':')[1]))];
    assert.ok(processesMentioning(planeDir).length >= 8, 'control plane, operator and resolvers run from the temp dir');
    local.kill('SIGINT');
    assert.equal(await exited, 0, stderr);
    assert.deepEqual(processesMentioning(planeDir), []);
    assert.equal(existsSync(planeDir), false, `${planeDir} is removed`);
    assert.deepEqual(readdirSync(stateDir), [], 'local.json and the lock are removed');
    for (const port of ports) {
      assert.ok(await canBind(port), `port ${port} is free`);
    }
  });
});

/** Command lines of running processes that contain `text`. */
function processesMentioning(text: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
      if (cmdline.includes(text)) found.push(`${pid}: ${cmdline}`);
    } catch {
      // The process ended while we looked.
    }
  }
  return found;
}

/** Whether both a TCP and a UDP socket can bind 127.0.0.1:port. */
async function canBind(port: number): Promise<boolean> {
  const tcp = await new Promise<boolean>((resolve) => {
    const server = createServer();
    server.once('error', () => { resolve(false); });
    server.listen(port, '127.0.0.1', () => { server.close(() => { resolve(true); }); });
  });
  const udp = await new Promise<boolean>((resolve) => {
    const socket = createSocket('udp4');
    socket.once('error', () => { socket.close(); resolve(false); });
    socket.bind(port, '127.0.0.1', () => { socket.close(); resolve(true); });
  });
  return tcp && udp;
}
