/**
 * The webhook's two runnables against the shared control plane, in this process
 * (`startWebhook`) or in a process of their own (`startWebhookProcess`, for attacks that
 * measure the webhook's memory), served on a free loopback port that the
 * MutatingWebhookConfiguration names by URL (the KWOK pods here are fake, so nothing could
 * reach a Service).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { pino } from 'pino';
import { WEBHOOK_CONFIGURATION, WEBHOOK_PATH, WEBHOOK_SECRET } from '../../src/api/names.ts';
import { KubeApiError } from '../../src/kube/client.ts';
import type { KubeClient } from '../../src/kube/client.ts';
import { freePort, httpRequest } from '../../src/local/net.ts';
import type { CertificatePolicy } from '../../src/webhook/certificates.ts';
import { webhookRunnables } from '../../src/webhook/runnables.ts';
import type { ServerLimits } from '../../src/webhook/server.ts';
import { controlPlane, createNamespace, eventually, kubeClient, kubectl } from './cluster.ts';

export interface RunningWebhook {
  /** The operator namespace of this webhook (home of its Secret; never mutated). */
  readonly namespace: string;
  readonly url: string;
  /** Stops both runnables and waits for them to return. */
  stop(): Promise<void>;
  /** Stops and deletes the MutatingWebhookConfiguration, so later tests are not called. */
  remove(): Promise<void>;
  /** The CA the serving certificate chains to (from the Secret), for clients of our own. */
  readonly ca: string;
}

export interface WebhookHarnessOptions {
  readonly certificatePolicy?: CertificatePolicy;
  /** Reuse an operator namespace (and so its Secret) from an earlier start. */
  readonly namespace?: string;
  readonly port?: number;
  /** The identity the webhook runs as; default the admin of the shared control plane. */
  readonly client?: KubeClient;
  readonly serverLimits?: Partial<ServerLimits>;
}

const PROBE_POD = JSON.stringify({
  apiVersion: 'v1', kind: 'Pod',
  metadata: { name: 'webhook-probe', labels: { 'clusterdns.io/instance': 'webhook-probe' } },
  spec: { containers: [{ name: 'app', image: 'app' }] },
});

const WEBHOOK_CONFIGURATIONS = '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations';

export async function startWebhook(options: WebhookHarnessOptions = {}): Promise<RunningWebhook> {
  const namespace = options.namespace ?? await createNamespace('clusterdns-op');
  const port = options.port ?? await freePort();
  const url = `https://127.0.0.1:${port}${WEBHOOK_PATH}`;
  const log = pino({ name: 'webhook', level: process.env['TEST_LOG_LEVEL'] ?? 'warn' }, pino.destination(2));
  const abort = new AbortController();
  const runnables = webhookRunnables({
    client: options.client ?? kubeClient(), namespace, port, host: '127.0.0.1', url, log, certificatePolicy: options.certificatePolicy, serverLimits: options.serverLimits,
  });
  const running = runnables.map((r) => r.start(abort.signal));
  const failed = Promise.race(running.map((p) => p.then(() => { throw new Error('a webhook runnable returned early'); })));
  failed.catch(() => undefined);
  const ca = await Promise.race([failed, waitUntilCalled(namespace, port, url)]);
  return runningWebhook(namespace, url, ca, async () => {
    abort.abort();
    await Promise.allSettled(running);
  });
}

export interface WebhookProcess extends RunningWebhook {
  readonly pid: number;
  /** Its metrics (prom-client's process_* included) on 127.0.0.1. */
  readonly metricsUrl: string;
}

/** The webhook in a child process (test/support/webhook-process.ts), as the admin. */
export async function startWebhookProcess(options: Pick<WebhookHarnessOptions, 'serverLimits'> = {}): Promise<WebhookProcess> {
  const namespace = await createNamespace('clusterdns-op');
  const port = await freePort();
  const metricsPort = await freePort();
  const url = `https://127.0.0.1:${port}${WEBHOOK_PATH}`;
  const script = new URL('./webhook-process.ts', import.meta.url).pathname;
  const child = spawn(process.execPath, [script, controlPlane().kubeconfigPath, namespace, String(port), String(metricsPort), JSON.stringify(options.serverLimits ?? {})], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const exited = once(child, 'exit');
  const failed = exited.then(([code]) => { throw new Error(`the webhook process exited (${String(code)})`); });
  failed.catch(() => undefined);
  let ca: string;
  try {
    ca = await Promise.race([failed, waitUntilCalled(namespace, port, url)]);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  const webhook = runningWebhook(namespace, url, ca, async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  });
  return { ...webhook, pid: child.pid ?? 0, metricsUrl: `http://127.0.0.1:${metricsPort}/metrics` };
}

/** Waits until the webhook serves, is configured, and the apiserver calls it; returns its CA. */
async function waitUntilCalled(namespace: string, port: number, url: string): Promise<string> {
  const ca = await eventually(async () => {
    const secret = await kubeClient().request<{ data: Record<string, string> }>('GET', `/api/v1/namespaces/${namespace}/secrets/${WEBHOOK_SECRET}`);
    const authority = Buffer.from(secret.data['ca.crt'] ?? '', 'base64').toString();
    const health = await httpRequest({ url: `https://127.0.0.1:${port}/healthz`, tls: { ca: authority } });
    if (health.status !== 200) throw new Error(`healthz: ${health.status}`);
    const config = await kubeClient().request<{ webhooks: Array<{ clientConfig: { url?: string } }> }>('GET', `${WEBHOOK_CONFIGURATIONS}/${WEBHOOK_CONFIGURATION}`);
    if (config.webhooks[0]?.clientConfig.url !== url) throw new Error('the configuration does not point here yet');
    return authority;
  }, { timeoutMs: 60_000, what: 'the webhook serving and configured' });
  // The apiserver loads a new configuration a moment after it is written: wait until a
  // dry-run pod asking for a missing instance comes back with our warning.
  await eventually(async () => {
    const probe = await kubectl(['create', '--dry-run=server', '-n', 'default', '-o', 'name', '-f', '-'], PROBE_POD);
    if (!probe.stderr.includes('clusterdns: ClusterDNS webhook-probe')) throw new Error(`no warning from the webhook yet: ${probe.stderr}`);
  }, { timeoutMs: 60_000, what: 'the apiserver calling the webhook' });
  return ca;
}

function runningWebhook(namespace: string, url: string, ca: string, stopOnce: () => Promise<void>): RunningWebhook {
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= stopOnce();
    return stopped;
  };
  return {
    namespace,
    url,
    ca,
    stop,
    remove: async () => {
      await stop();
      try {
        await kubeClient().request('DELETE', `${WEBHOOK_CONFIGURATIONS}/${WEBHOOK_CONFIGURATION}`);
      } catch (error) {
        if (!(error instanceof KubeApiError && error.status === 404)) throw error;
      }
    },
  };
}
