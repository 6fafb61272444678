/**
 * Webhook latency as the apiserver sees it, with 200 concurrent pod creations, beside an
 * anchor: the same burst through a minimal Go webhook (bench/webhook-anchor, net/http as in a
 * controller-runtime webhook) and the same burst with no webhook at all.
 *
 * Starts its own control plane, runs the webhook in a process of its own (as the operator does),
 * creates 200 pods at once in a namespace opted into an instance, in one served by the Go
 * anchor and in one that no webhook matches, in turns (ABC, then CBA, so that the cluster's
 * leftover work from a burst falls on each alike), and reads the apiserver's
 * `apiserver_admission_webhook_admission_duration_seconds` histogram before and after each
 * burst. Usage: `npm run bench:webhook [-- --rounds N --pods N]`.
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CLUSTERDNS_PATH } from '../src/api/names.ts';
import { KubeClient, loadKubeConfig } from '../src/kube/client.ts';
import { createCertificateAuthority, issueCertificate } from '../src/kube/x509.ts';
import { ControlPlane } from '../src/local/control-plane.ts';
import { TIMEOUT_SECONDS } from '../src/webhook/configuration.ts';
import { freePort, httpRequest } from '../src/local/net.ts';
import { loadAverage, printBenchmarkHeader } from './header.ts';
import { deltaHistogram, parseHistogram, quantile } from './histogram.ts';
import type { Histogram } from './histogram.ts';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '3' }, pods: { type: 'string', default: '200' } } });
const ROUNDS = Number(values.rounds);
const PODS = Number(values.pods);
const METRIC = 'apiserver_admission_webhook_admission_duration_seconds';
const OWN_METRIC = 'clusterdns_webhook_admission_duration_seconds';
const WEBHOOK_NAME = 'namespace.injector.clusterdns.io';
const ANCHOR_NAME = 'anchor.bench.clusterdns.io';
const ANCHOR_LABEL = 'bench.clusterdns.io/anchor';

type Variant = 'clusterdns' | 'anchor' | 'none';
const VARIANTS: readonly Variant[] = ['clusterdns', 'anchor', 'none'];
const NAMESPACE: Readonly<Record<Variant, string>> = { clusterdns: 'bench-injected', anchor: 'bench-anchor', none: 'bench-plain' };

function sh(command: string, args: string[]): Promise<string> {
  return new Promise((resolve) => { execFile(command, args, (_error, stdout) => { resolve(stdout); }); });
}

async function main(): Promise<void> {
  await printBenchmarkHeader(`npm run bench:webhook -- --rounds ${ROUNDS} --pods ${PODS}`);

  const dir = mkdtempSync(join(tmpdir(), 'clusterdns-bench-webhook-'));
  const plane = await ControlPlane.start({ log: () => undefined });
  const client = new KubeClient(loadKubeConfig(plane.kubeconfigPath));
  const children: Array<ReturnType<typeof spawn>> = [];
  try {
    const crd = new URL('../crds/clusterdns.io_clusterdnses.yaml', import.meta.url).pathname;
    await sh(plane.binaries.kubectl, ['--kubeconfig', plane.kubeconfigPath, 'apply', '--server-side', '-f', crd]);
    await waitUntil(async () => { await client.request('GET', CLUSTERDNS_PATH); });
    const created = await client.request<{ metadata: { resourceVersion: string } }>('POST', CLUSTERDNS_PATH, { body: { apiVersion: 'clusterdns.io/v1alpha1', kind: 'ClusterDNS', metadata: { name: 'bench' }, spec: { version: '0.1.0' } } });
    await client.request('PUT', `${CLUSTERDNS_PATH}/bench/status`, { body: { apiVersion: 'clusterdns.io/v1alpha1', kind: 'ClusterDNS', metadata: { name: 'bench', resourceVersion: created.metadata.resourceVersion }, spec: { version: '0.1.0' }, status: { clusterIP: '10.96.0.99', version: '0.1.0', serving: 'Instance' } } });
    for (const [name, labels] of [['clusterdns-system', {}], [NAMESPACE.clusterdns, { 'clusterdns.io/instance': 'bench' }], [NAMESPACE.anchor, { [ANCHOR_LABEL]: 'true' }], [NAMESPACE.none, {}]] as const) {
      await client.request('POST', '/api/v1/namespaces', { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } } });
      await waitUntil(async () => { await client.request('GET', `/api/v1/namespaces/${name}/serviceaccounts/default`); });
    }
    const port = await freePort();
    const metricsPort = await freePort();
    const own = async (): Promise<Histogram> => parseHistogram((await httpRequest({ url: `http://127.0.0.1:${metricsPort}/metrics` })).body, OWN_METRIC, { outcome: 'inject' });
    children.push(spawn(process.execPath, [new URL('../test/support/webhook-process.ts', import.meta.url).pathname, plane.kubeconfigPath, 'clusterdns-system', String(port), String(metricsPort)], { stdio: 'inherit' }));
    children.push(await startAnchor(client, dir));
    // Warm up until the apiserver calls both webhooks (a configuration loads a moment after it is written).
    for (const variant of ['clusterdns', 'anchor'] as const) {
      await waitUntil(async () => {
        const pod = await createPod(client, NAMESPACE[variant]);
        if (!pod.injected) throw new Error(`${variant}: not injected yet`);
      });
    }

    const rounds: Round[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? VARIANTS : [...VARIANTS].reverse();
      const bursts: Partial<Record<Variant, Burst>> = {};
      for (const variant of order) {
        const name = variant === 'anchor' ? ANCHOR_NAME : WEBHOOK_NAME;
        const labels = { name, type: 'admit', operation: 'CREATE' };
        const before = parseHistogram(await metrics(plane), METRIC, labels);
        const ownBefore = variant === 'clusterdns' ? await own() : undefined;
        const pods = await Promise.all(Array.from({ length: PODS }, () => createPod(client, NAMESPACE[variant])));
        const after = parseHistogram(await metrics(plane), METRIC, labels);
        bursts[variant] = {
          webhook: deltaHistogram(after, before),
          ...(ownBefore ? { inside: deltaHistogram(await own(), ownBefore) } : {}),
          ms: pods.map((p) => p.ms),
          injected: pods.filter((p) => p.injected).length,
        };
      }
      const { clusterdns, anchor, none } = bursts;
      if (clusterdns && anchor && none) rounds.push({ clusterdns, anchor, none });
    }
    const failOpen = (await metrics(plane)).split('\n').filter((l) => l.startsWith('apiserver_admission_webhook_fail_open_count')).join('\n') || '(none)';
    report(rounds, failOpen);
  } finally {
    for (const child of children) {
      if (child.exitCode !== null || child.signalCode !== null) continue;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    await plane.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Builds and starts the Go anchor behind a certificate of its own, and registers it for the
 * anchor's namespace with the settings clusterdns's injector has (failurePolicy, timeout,
 * reinvocation), called by URL on 127.0.0.1 like the clusterdns webhook here.
 */
async function startAnchor(client: KubeClient, dir: string): Promise<ReturnType<typeof spawn>> {
  const binary = join(dir, 'webhook-anchor');
  execFileSync('go', ['build', '-o', binary, '.'], { cwd: new URL('./webhook-anchor/', import.meta.url).pathname, stdio: 'inherit' });
  const now = Date.now();
  const ca = createCertificateAuthority('clusterdns bench anchor CA', new Date(now - 60_000), new Date(now + 86_400_000));
  const serving = issueCertificate(ca, { commonName: '127.0.0.1', ipAddresses: ['127.0.0.1'], usages: ['server'], notBefore: new Date(now - 60_000), notAfter: new Date(now + 86_400_000) });
  writeFileSync(join(dir, 'anchor.crt'), serving.certificatePem);
  writeFileSync(join(dir, 'anchor.key'), serving.privateKeyPem);
  const port = await freePort();
  const child = spawn(binary, ['-addr', `127.0.0.1:${port}`, '-cert', join(dir, 'anchor.crt'), '-key', join(dir, 'anchor.key')], { stdio: 'inherit' });
  await client.request('POST', '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations', {
    body: {
      apiVersion: 'admissionregistration.k8s.io/v1', kind: 'MutatingWebhookConfiguration', metadata: { name: 'clusterdns-bench-anchor' },
      webhooks: [{
        name: ANCHOR_NAME, admissionReviewVersions: ['v1'],
        clientConfig: { url: `https://127.0.0.1:${port}/mutate-v1-pod`, caBundle: Buffer.from(ca.certificatePem).toString('base64') },
        rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], scope: 'Namespaced' }],
        failurePolicy: 'Ignore', matchPolicy: 'Equivalent', sideEffects: 'None', timeoutSeconds: TIMEOUT_SECONDS, reinvocationPolicy: 'IfNeeded',
        namespaceSelector: { matchLabels: { [ANCHOR_LABEL]: 'true' } },
      }],
    },
  });
  return child;
}

interface Burst {
  /** The apiserver's view of each call to the burst's webhook (none: the clusterdns webhook's, which should see no call). */
  readonly webhook: Histogram;
  /** The clusterdns webhook's own view: from the request's arrival to its answer. */
  readonly inside?: Histogram;
  /** Each creation's time as the creating client saw it. */
  readonly ms: number[];
  readonly injected: number;
}

interface Round {
  readonly clusterdns: Burst;
  readonly anchor: Burst;
  readonly none: Burst;
}

function report(rounds: Round[], failOpen: string): void {
  const ms = (seconds: number): string => `${(seconds * 1000).toFixed(1)} ms`;
  const pct = (values: number[], q: number): number => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(q * values.length))] ?? NaN;
  const median = (values: number[]): number => pct(values, 0.5);
  const added = (burst: Burst, none: Burst): number => pct(burst.ms, 0.5) - pct(none.ms, 0.5);
  console.log('\n| round | webhook | calls | webhook p50 / p99 (apiserver) | inside the webhook p50 / p99 | create p50 / p99 | added create p50 | injected |');
  console.log('|---|---|---|---|---|---|---|---|');
  rounds.forEach((r, i) => {
    for (const variant of VARIANTS) {
      const b = r[variant];
      const calls = variant === 'none' ? '-' : String(b.webhook.count);
      const apiserver = variant === 'none' ? '-' : `${ms(quantile(b.webhook, 0.5))} / ${ms(quantile(b.webhook, 0.99))}`;
      const inside = b.inside ? `${ms(quantile(b.inside, 0.5))} / ${ms(quantile(b.inside, 0.99))}` : '-';
      const extra = variant === 'none' ? '-' : `${added(b, r.none) >= 0 ? '+' : ''}${added(b, r.none).toFixed(0)} ms`;
      console.log(`| ${i + 1} | ${variant === 'none' ? 'none' : variant === 'anchor' ? 'Go anchor' : 'clusterdns'} | ${calls} | ${apiserver} | ${inside} | ${pct(b.ms, 0.5).toFixed(0)} / ${pct(b.ms, 0.99).toFixed(0)} ms | ${extra} | ${variant === 'none' ? '-' : `${b.injected}/${b.ms.length}`} |`);
    }
  });
  const ours = median(rounds.map((r) => added(r.clusterdns, r.none)));
  const anchor = median(rounds.map((r) => added(r.anchor, r.none)));
  console.log(`\nadded create p50, median over ${rounds.length} rounds: clusterdns ${ours.toFixed(0)} ms, Go anchor ${anchor.toFixed(0)} ms (clusterdns - anchor: ${(ours - anchor).toFixed(0)} ms)`);
  console.log(`apiserver-seen webhook p50, median over rounds: clusterdns ${ms(median(rounds.map((r) => quantile(r.clusterdns.webhook, 0.5))))}, Go anchor ${ms(median(rounds.map((r) => quantile(r.anchor.webhook, 0.5))))}`);
  const first = rounds[0]?.clusterdns.webhook;
  if (first) console.log(`histogram buckets (s): ${first.buckets.map((b) => b.le).join(', ')} — quantiles are interpolated inside a bucket, as histogram_quantile() does`);
  console.log(`fail-open count: ${failOpen}`);
  console.log(`load average after: ${loadAverage()}`);
}

async function metrics(plane: ControlPlane): Promise<string> {
  return (await plane.api('GET', '/metrics')).body;
}

async function createPod(client: KubeClient, namespace: string): Promise<{ ms: number; injected: boolean }> {
  const began = performance.now();
  const pod = await client.request<{ metadata: { annotations?: Record<string, string> } }>('POST', `/api/v1/namespaces/${namespace}/pods`, {
    body: { apiVersion: 'v1', kind: 'Pod', metadata: { generateName: 'bench-' }, spec: { containers: [{ name: 'app', image: 'registry.invalid/app:1' }] } },
  });
  return { ms: performance.now() - began, injected: pod.metadata.annotations?.['clusterdns.io/injected'] !== undefined };
}

async function waitUntil(check: () => Promise<void>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

await main();
