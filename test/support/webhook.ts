/**
 * The webhook's two runnables in this process, against the shared control plane, served on
 * a free loopback port that the MutatingWebhookConfiguration names by URL (the KWOK pods
 * here are fake, so nothing could reach a Service).
 */
import { pino } from 'pino';
import { WEBHOOK_CONFIGURATION, WEBHOOK_PATH, WEBHOOK_SECRET } from '../../src/api/names.ts';
import { KubeApiError } from '../../src/kube/client.ts';
import type { KubeClient } from '../../src/kube/client.ts';
import { freePort, httpRequest } from '../../src/local/net.ts';
import type { CertificatePolicy } from '../../src/webhook/certificates.ts';
import { webhookRunnables } from '../../src/webhook/runnables.ts';
import { createNamespace, eventually, kubeClient, kubectl } from './cluster.ts';

export interface RunningWebhook {
  /** The operator namespace of this webhook (home of its Secret; never mutated). */
  readonly namespace: string;
  readonly url: string;
  /** Stops both runnables and waits for them to return. */
  stop(): Promise<void>;
  /** Stops and deletes the MutatingWebhookConfiguration, so later tests are not called. */
  remove(): Promise<void>;
}

export interface WebhookHarnessOptions {
  readonly certificatePolicy?: CertificatePolicy;
  /** Reuse an operator namespace (and so its Secret) from an earlier start. */
  readonly namespace?: string;
  readonly port?: number;
  /** The identity the webhook runs as; default the admin of the shared control plane. */
  readonly client?: KubeClient;
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
  const runnables = webhookRunnables({ client: options.client ?? kubeClient(), namespace, port, host: '127.0.0.1', url, log, certificatePolicy: options.certificatePolicy });
  const running = runnables.map((r) => r.start(abort.signal));
  const failed = Promise.race(running.map((p) => p.then(() => { throw new Error('a webhook runnable returned early'); })));
  failed.catch(() => undefined);

  await Promise.race([failed, eventually(async () => {
    const secret = await kubeClient().request<{ data: Record<string, string> }>('GET', `/api/v1/namespaces/${namespace}/secrets/${WEBHOOK_SECRET}`);
    const ca = Buffer.from(secret.data['ca.crt'] ?? '', 'base64').toString();
    const health = await httpRequest({ url: `https://127.0.0.1:${port}/healthz`, tls: { ca } });
    if (health.status !== 200) throw new Error(`healthz: ${health.status}`);
    const config = await kubeClient().request<{ webhooks: Array<{ clientConfig: { url?: string } }> }>('GET', `${WEBHOOK_CONFIGURATIONS}/${WEBHOOK_CONFIGURATION}`);
    if (config.webhooks[0]?.clientConfig.url !== url) throw new Error('the configuration does not point here yet');
  }, { timeoutMs: 60_000, what: 'the webhook serving and configured' })]);
  // The apiserver loads a new configuration a moment after it is written: wait until a
  // dry-run pod asking for a missing instance comes back with our warning.
  await eventually(async () => {
    const probe = await kubectl(['create', '--dry-run=server', '-n', 'default', '-o', 'name', '-f', '-'], PROBE_POD);
    if (!probe.stderr.includes('clusterdns: ClusterDNS webhook-probe')) throw new Error(`no warning from the webhook yet: ${probe.stderr}`);
  }, { timeoutMs: 60_000, what: 'the apiserver calling the webhook' });

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    abort.abort();
    await Promise.allSettled(running);
  };
  return {
    namespace,
    url,
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
