/**
 * `clusterdns compare` as a user runs it (the CLI in a child process) between two real
 * resolvers fed by the shared control plane, whose configurations differ in one thing:
 * pod records (`pods insecure` against `pods disabled`). It must report exactly the pod
 * names, and nothing else.
 *
 * The resolvers come from `RESOLVER`: swap in another factory to compare other
 * implementations with the same expectations.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ask } from '../../src/compare/dns-client.ts';
import { dashed } from '../../src/compare/questions.ts';
import { freePort } from '../../src/local/net.ts';
import { controlPlane, createNamespace, eventually, kubeClient } from '../support/cluster.ts';
import { deleteNamespace, listPods, podManifest } from '../support/pods.ts';
import { startCoreDNS } from '../support/resolvers.ts';
import type { ResolverFactory, ResolverUnderTest } from '../support/resolvers.ts';

const RESOLVER: ResolverFactory = startCoreDNS;
const MAIN = join(import.meta.dirname, '..', '..', 'src', 'cli', 'main.ts');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function clusterdns(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, ...args], { maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr });
    });
  });
}

interface JsonReport {
  asked: number;
  different: number;
  differences: Array<{ name: string; type: string; baseline: { rcode: string; answer: string[] }; candidate: { rcode: string } }>;
}

describe('clusterdns compare', () => {
  let ns = '';
  const resolvers: ResolverUnderTest[] = [];
  let baseline: ResolverUnderTest;
  let candidate: ResolverUnderTest;
  let podNames: string[] = [];
  let dir = '';

  before(async () => {
    ns = await createNamespace('cmp');
    dir = mkdtempSync(join(tmpdir(), 'clusterdns-compare-'));
    const client = kubeClient();
    const post = (path: string, body: unknown): Promise<unknown> => client.request('POST', `/api/v1/namespaces/${ns}/${path}`, { body });
    await post('services', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' }, spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80 }] } });
    await post('services', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'db' }, spec: { clusterIP: 'None', selector: { app: 'db' }, ports: [{ name: 'pg', port: 5432 }] } });
    await post('services', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'ext' }, spec: { type: 'ExternalName', externalName: 'db.example.invalid' } });
    for (const i of [0, 1]) {
      await post('pods', podManifest({ name: `web-${i}`, labels: { app: 'web' } }));
      await post('pods', podManifest({ name: `db-${i}`, labels: { app: 'db' }, spec: { hostname: `db-${i}`, subdomain: 'db' } }));
    }
    const pods = await eventually(async () => {
      const all = await listPods(ns);
      const ips = all.map((p) => (p as { status?: { podIP?: string } }).status?.podIP);
      assert.equal(ips.filter(Boolean).length, 4, 'four pods with an IP');
      return ips as string[];
    }, { timeoutMs: 60_000, what: 'pods running' });
    podNames = pods.map((ip) => `${dashed(ip)}.${ns}.pod.cluster.local.`).sort();

    baseline = await RESOLVER({ pods: 'insecure' });
    resolvers.push(baseline);
    candidate = await RESOLVER({ pods: 'disabled' });
    resolvers.push(candidate);
    // Both resolvers have seen the ready endpoints of both services.
    for (const resolver of [baseline, candidate]) {
      await eventually(async () => {
        for (const svc of ['web', 'db']) {
          const answer = await ask({ host: '127.0.0.1', port: resolver.port }, { name: `${svc}.${ns}.svc.cluster.local.`, type: svc === 'db' ? 'A' : 'SRV' });
          assert.ok('answer' in answer && answer.answer.length === (svc === 'db' ? 2 : 1), `${svc}: ${JSON.stringify(answer)}\n${resolver.logTail()}`);
        }
        const slices = await client.request<{ items: Array<{ endpoints?: Array<{ conditions?: { ready?: boolean } }> }> }>(
          'GET', `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices`);
        assert.equal(slices.items.flatMap((s) => s.endpoints ?? []).filter((e) => e.conditions?.ready !== false).length, 4);
      }, { timeoutMs: 60_000, what: `resolver ${resolver.address} in sync` });
    }
  });

  after(async () => {
    await Promise.all(resolvers.map((r) => r.stop()));
    await deleteNamespace(ns);
    rmSync(dir, { recursive: true, force: true });
  });

  const common = (): string[] => ['--baseline', baseline.address, '--candidate', candidate.address, '--kubeconfig', controlPlane().kubeconfigPath, '--namespace', ns];

  test('reports exactly the one configured difference: the pod names (JSON)', async () => {
    const run = await clusterdns(['compare', ...common(), '--output', 'json']);
    assert.equal(run.code, 1, run.stderr);
    const report = JSON.parse(run.stdout) as JsonReport;
    assert.deepEqual(report.differences.map((d) => d.name).sort(), podNames);
    for (const d of report.differences) {
      assert.equal(d.type, 'A');
      assert.equal(d.baseline.rcode, 'NOERROR');
      assert.equal(d.baseline.answer.length, 1);
      assert.equal(d.candidate.rcode, 'NXDOMAIN');
    }
    assert.ok(report.asked > 20, `${report.asked} questions asked`);
  });

  test('prints a table a person can read, one row a difference', async () => {
    const run = await clusterdns(['compare', ...common()]);
    assert.equal(run.code, 1, run.stderr);
    const lines = run.stdout.trimEnd().split('\n');
    assert.match(lines[0] ?? '', /^QUESTION\s+TYPE\s+BASELINE 127\.0\.0\.1:\d+\s+CANDIDATE 127\.0\.0\.1:\d+$/);
    for (const name of podNames) assert.ok(lines.some((l) => l.startsWith(name) && /NOERROR 10\.244\.\S+\s+NXDOMAIN$/.test(l)), `${name} row`);
    assert.match(lines.at(-1) ?? '', new RegExp(`^${podNames.length} of \\d+ questions were answered differently\\.$`));
  });

  test('a resolver compared with itself: no difference, exit 0', async () => {
    const run = await clusterdns(['compare', '--baseline', baseline.address, '--candidate', baseline.address, '--kubeconfig', controlPlane().kubeconfigPath, '--namespace', ns]);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /^All \d+ questions were answered the same\.\n$/);
  });

  test('asks the questions of a names file', async () => {
    const file = join(dir, 'names.txt');
    writeFileSync(file, `# one service, one pod\nweb.${ns}.svc.cluster.local\n_pg._tcp.db.${ns}.svc.cluster.local SRV\n${podNames[0] ?? ''} A\n`);
    const run = await clusterdns(['compare', '--baseline', baseline.address, '--candidate', candidate.address, '--names', file, '--output', 'json']);
    assert.equal(run.code, 1, run.stderr);
    const report = JSON.parse(run.stdout) as JsonReport;
    assert.equal(report.asked, 3);
    assert.deepEqual(report.differences.map((d) => d.name), [podNames[0]]);
  });

  test('errors exit 2 with a message: a bad names file, a silent resolver, a missing flag', async () => {
    const bad = join(dir, 'bad.txt');
    writeFileSync(bad, 'web.example A\nweb.example BOGUS\n');
    const badFile = await clusterdns(['compare', '--baseline', baseline.address, '--candidate', candidate.address, '--names', bad]);
    assert.equal(badFile.code, 2);
    assert.match(badFile.stderr, /bad\.txt: line 2: unknown type "BOGUS"/);

    const silent = await clusterdns(['compare', '--baseline', baseline.address, '--candidate', `127.0.0.1:${await freePort()}`, '--names', join(dir, 'names.txt'), '--timeout', '300']);
    assert.equal(silent.code, 2);
    assert.match(silent.stderr, /the candidate 127\.0\.0\.1:\d+ does not answer: timeout/);

    const missing = await clusterdns(['compare', '--baseline', baseline.address]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /--baseline and --candidate are required/);
  });
});
