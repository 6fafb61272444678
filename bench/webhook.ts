/**
 * Webhook latency as the apiserver sees it, with 200 concurrent pod creations.
 *
 * Starts its own control plane, runs the webhook in a process of its own (as the operator does),
 * creates 200 pods at once in a namespace opted into an instance, and reads the apiserver's
 * `apiserver_admission_webhook_admission_duration_seconds` histogram before and after each
 * round. The same burst in a namespace that is not opted in gives the cost of pod creation
 * without the webhook. Usage: `npm run bench:webhook [-- --rounds N --pods N]`.
 */
import { execFile, spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import { CLUSTERDNS_PATH } from '../src/api/names.ts';
import { KubeClient, loadKubeConfig } from '../src/kube/client.ts';
import { ControlPlane } from '../src/local/control-plane.ts';
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

function sh(command: string, args: string[]): Promise<string> {
  return new Promise((resolve) => { execFile(command, args, (_error, stdout) => { resolve(stdout); }); });
}

async function main(): Promise<void> {
  await printBenchmarkHeader(`npm run bench:webhook -- --rounds ${ROUNDS} --pods ${PODS}`);

  const plane = await ControlPlane.start({ log: () => undefined });
  const client = new KubeClient(loadKubeConfig(plane.kubeconfigPath));
  let server: ReturnType<typeof spawn> | undefined;
  try {
    const crd = new URL('../crds/clusterdns.io_clusterdnses.yaml', import.meta.url).pathname;
    await sh(plane.binaries.kubectl, ['--kubeconfig', plane.kubeconfigPath, 'apply', '--server-side', '-f', crd]);
    await waitUntil(async () => { await client.request('GET', CLUSTERDNS_PATH); });
    const created = await client.request<{ metadata: { resourceVersion: string } }>('POST', CLUSTERDNS_PATH, { body: { apiVersion: 'clusterdns.io/v1alpha1', kind: 'ClusterDNS', metadata: { name: 'bench' }, spec: { version: '0.1.0' } } });
    await client.request('PUT', `${CLUSTERDNS_PATH}/bench/status`, { body: { apiVersion: 'clusterdns.io/v1alpha1', kind: 'ClusterDNS', metadata: { name: 'bench', resourceVersion: created.metadata.resourceVersion }, spec: { version: '0.1.0' }, status: { clusterIP: '10.96.0.99', version: '0.1.0', serving: 'Instance' } } });
    for (const [name, labels] of [['clusterdns-system', {}], ['bench-injected', { 'clusterdns.io/instance': 'bench' }], ['bench-plain', {}]] as const) {
      await client.request('POST', '/api/v1/namespaces', { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } } });
      await waitUntil(async () => { await client.request('GET', `/api/v1/namespaces/${name}/serviceaccounts/default`); });
    }
    const port = await freePort();
    const metricsPort = await freePort();
    const own = async (): Promise<Histogram> => parseHistogram((await httpRequest({ url: `http://127.0.0.1:${metricsPort}/metrics` })).body, OWN_METRIC, { outcome: 'inject' });
    server = spawn(process.execPath, [new URL('../test/support/webhook-process.ts', import.meta.url).pathname, plane.kubeconfigPath, 'clusterdns-system', String(port), String(metricsPort)], { stdio: 'inherit' });
    // Warm up until the apiserver calls the webhook (its configuration loads a moment after it is written).
    await waitUntil(async () => {
      const pod = await createPod(client, 'bench-injected');
      if (!pod.injected) throw new Error('not injected yet');
    });

    const rounds: Round[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const before = parseHistogram(await metrics(plane), METRIC, { name: WEBHOOK_NAME, type: 'admit', operation: 'CREATE' });
      const ownBefore = await own();
      const burst = await Promise.all(Array.from({ length: PODS }, () => createPod(client, 'bench-injected')));
      const after = parseHistogram(await metrics(plane), METRIC, { name: WEBHOOK_NAME, type: 'admit', operation: 'CREATE' });
      const ownAfter = await own();
      const plain = await Promise.all(Array.from({ length: PODS }, () => createPod(client, 'bench-plain')));
      rounds.push({
        webhook: deltaHistogram(after, before),
        inside: deltaHistogram(ownAfter, ownBefore),
        withWebhook: burst.map((p) => p.ms),
        without: plain.map((p) => p.ms),
        injected: burst.filter((p) => p.injected).length,
      });
    }
    const failOpen = (await metrics(plane)).split('\n').filter((l) => l.startsWith('apiserver_admission_webhook_fail_open_count')).join('\n') || '(none)';
    report(rounds, failOpen);
  } finally {
    if (server && server.exitCode === null) {
      const exited = new Promise((resolve) => server?.once('exit', resolve));
      server.kill('SIGTERM');
      await exited;
    }
    await plane.stop();
  }
}

interface Round {
  /** The apiserver's view of each call. */
  readonly webhook: Histogram;
  /** The webhook's own view: from the request's arrival to its answer. */
  readonly inside: Histogram;
  readonly withWebhook: number[];
  readonly without: number[];
  readonly injected: number;
}

function report(rounds: Round[], failOpen: string): void {
  const ms = (seconds: number): string => `${(seconds * 1000).toFixed(1)} ms`;
  const pct = (values: number[], q: number): number => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(q * values.length))] ?? NaN;
  console.log('\n| round | calls | webhook p50 (apiserver) | webhook p99 (apiserver) | webhook mean (apiserver) | inside the webhook p50 / p99 | create p50 / p99 with webhook | create p50 / p99 without | injected |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  rounds.forEach((r, i) => {
    console.log(`| ${i + 1} | ${r.webhook.count} | ${ms(quantile(r.webhook, 0.5))} | ${ms(quantile(r.webhook, 0.99))} | ${ms(r.webhook.sum / r.webhook.count)} `
      + `| ${ms(quantile(r.inside, 0.5))} / ${ms(quantile(r.inside, 0.99))} `
      + `| ${pct(r.withWebhook, 0.5).toFixed(0)} / ${pct(r.withWebhook, 0.99).toFixed(0)} ms | ${pct(r.without, 0.5).toFixed(0)} / ${pct(r.without, 0.99).toFixed(0)} ms | ${r.injected}/${r.withWebhook.length} |`);
  });
  const first = rounds[0]?.webhook;
  if (first) console.log(`\nhistogram buckets (s): ${first.buckets.map((b) => b.le).join(', ')} — quantiles are interpolated inside a bucket, as histogram_quantile() does`);
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
