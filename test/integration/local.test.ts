/**
 * `clusterdns local` as a user runs it: a process of its own (with its own control plane),
 * its printed dig lines run as printed, its state file read as a script would, one more
 * ClusterDNS applied with the kubeconfig it printed, a second start refused, and Ctrl-C
 * leaving no process, port or temp dir behind.
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
import { repositoryRoot } from '../../src/local/repo.ts';
import type { LocalState } from '../../src/local/state.ts';
import { eventually } from '../support/cluster.ts';

const run = promisify(execFile);
const MAIN = join(repositoryRoot(), 'src', 'cli', 'main.ts');

describe('clusterdns local', () => {
  const stateDir = mkdtempSync(join(tmpdir(), 'clusterdns-local-state-'));
  const stateFile = join(stateDir, 'local.json');
  let local: ChildProcess;
  let stdout = '';
  let stderr = '';
  let exited: Promise<number | null>;

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

  before(async () => {
    local = spawn(process.execPath, [MAIN, 'local', '--state-dir', stateDir], { stdio: ['ignore', 'pipe', 'pipe'] });
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
  });

  test('prints the ClusterDNS table, the kubeconfig and the pinned kubectl', () => {
    assert.match(stdout, /NAME\s+VERSION\s+CLUSTER-IP\s+READY\s+SERVING\s+AVAILABLE\s+MISMATCH\s+AGE/);
    assert.match(stdout, /^kube-dns-2\s+0\.1\.0\s+10\.96\.0\.20\s+2\s+Instance\s+True\s/m);
    const { kubeconfig, kubectl: binary } = state();
    assert.ok(stdout.includes(`export KUBECONFIG=${kubeconfig}`));
    assert.ok(stdout.includes(`alias kubectl=${binary}`));
    assert.ok(existsSync(kubeconfig) && existsSync(binary));
  });

  test('its dig lines answer as printed, with the demo Service\'s clusterIP', async () => {
    const webIP = (await kubectl('get', 'service', 'web', '-n', 'demo', '-o', 'jsonpath={.spec.clusterIP}')).trim();
    assert.match(webIP, /^10\.\d+\.\d+\.\d+$/);
    const digLines = [...stdout.matchAll(/^\s*(dig @\S+ -p \d+ \S+)/gm)].map((m) => m[1] ?? '');
    assert.equal(digLines.length, 1, 'one dig line per instance');
    for (const line of digLines) {
      const [command = '', ...args] = line.split(' ');
      const answer = (await run(command, [...args, '+short'])).stdout.trim();
      assert.equal(answer, webIP, `${line} answers ${webIP}`);
    }
  });

  test('local.json names each instance and its loopback resolver, which answers cluster names', async () => {
    const facts = state();
    assert.match(facts.apiserver, /^https:\/\/127\.0\.0\.1:\d+$/);
    assert.deepEqual(facts.instances.map((i) => [i.name, i.version, i.clusterIP, i.ready]), [['kube-dns-2', '0.1.0', '10.96.0.20', true]]);
    const [instance] = facts.instances;
    assert.ok(instance);
    assert.match(instance.resolver, /^127\.0\.0\.1:\d+$/);
    const headless = await resolverAt(instance.resolver).resolve4('web-headless.demo.svc.cluster.local');
    assert.equal(headless.length, 2, 'both demo pods');
    assert.deepEqual(await resolverAt(instance.resolver).resolveTxt('dns-version.cluster.local'), [['1.1.0']]);
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

  /** Applies a ClusterDNS with the printed kubectl and waits until local.json has its resolver, ready. */
  const applyServed = async (name: string, spec: Record<string, unknown>): Promise<LocalState['instances'][number]> => {
    const manifest = JSON.stringify({ apiVersion: 'clusterdns.io/v1alpha1', kind: 'ClusterDNS', metadata: { name }, spec });
    const child = spawn(state().kubectl, ['apply', '-f', '-'], { env: { ...process.env, KUBECONFIG: state().kubeconfig } });
    child.stdin.end(manifest);
    const [code] = await new Promise<[number | null]>((resolve) => child.once('exit', (c) => { resolve([c]); }));
    assert.equal(code, 0);
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
  });

  test('an instance with analysis shadows its baseline\'s loopback resolver, and the operator reports the differences', async () => {
    const served = await applyServed('kube-dns-4', {
      version: '0.2.0', clusterIP: '10.96.0.40', pods: 'disabled', baseline: { service: { namespace: 'clusterdns-system', name: 'kube-dns-2' } },
      analysis: { sample: 100, interval: '2s', minQueries: 10 },
    });
    // Pod names: kube-dns-2 (pods insecure) answers them, kube-dns-4 (pods disabled) does not.
    for (let i = 1; i <= 20; i++) await resolverAt(served.resolver).resolve4(`10-244-9-${i}.demo.pod.cluster.local`).catch(() => undefined);
    const answers = await eventually(async () => {
      const status = JSON.parse(await kubectl('get', 'cdns', 'kube-dns-4', '-o', 'jsonpath={.status}')) as { analysis?: { mismatches: number }; conditions?: Array<{ type: string; status: string; message: string }> };
      const condition = status.conditions?.find((c) => c.type === 'AnswersMatch');
      assert.equal(condition?.status, 'False', JSON.stringify(condition));
      assert.ok((status.analysis?.mismatches ?? 0) >= 10);
      return condition;
    }, { timeoutMs: 30_000, what: 'AnswersMatch False for kube-dns-4' });
    assert.match(answers.message, /e\.g\. 10-244-9-\d+\.demo\.pod\.cluster\.local\. A: NXDOMAIN here, NOERROR 10\.244\.9\.\d+ at the baseline$/);
    // The sample shadows kube-dns; the condition is there whatever it finds.
    assert.ok((await kubectl('get', 'cdns', 'kube-dns-2', '-o', 'jsonpath={.status.conditions[?(@.type=="AnswersMatch")].status}')).trim() !== '');
  });

  test('a second start says one is running and exits 1', () => {
    const second = spawnSync(process.execPath, [MAIN, 'local', '--state-dir', stateDir], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(second.status, 1);
    assert.match(second.stderr, new RegExp(`already running \\(pid ${String(local.pid)}\\)`));
  });

  test('Ctrl-C stops everything: no process, port, temp dir or state file is left', async () => {
    const facts = state();
    const planeDir = dirname(facts.kubeconfig);
    const ports = [Number(new URL(facts.apiserver).port), ...facts.instances.map((i) => Number(i.resolver.split(':')[1]))];
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
