/**
 * The webhook's runnables in a process of their own, as the operator runs them, for the
 * benchmark: `node bench/webhook-server.ts KUBECONFIG NAMESPACE PORT METRICS_PORT`.
 * Serves its metrics on 127.0.0.1:METRICS_PORT; stops on SIGTERM.
 */
import { createServer } from 'node:http';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { WEBHOOK_PATH } from '../src/api/names.ts';
import { KubeClient, loadKubeConfig } from '../src/kube/client.ts';
import { webhookRunnables } from '../src/webhook/runnables.ts';

const [kubeconfig = '', namespace = '', port = '', metricsPort = ''] = process.argv.slice(2);
const abort = new AbortController();
const registry = new Registry();
const metrics = createServer((_req, res) => {
  void registry.metrics().then((text) => { res.end(text); });
});
metrics.listen(Number(metricsPort), '127.0.0.1');
process.once('SIGTERM', () => {
  abort.abort();
  metrics.close();
});
const log = pino({ level: 'warn' }, pino.destination(2));
const client = new KubeClient(loadKubeConfig(kubeconfig));
const url = `https://127.0.0.1:${port}${WEBHOOK_PATH}`;
await Promise.all(webhookRunnables({ client, namespace, port: Number(port), host: '127.0.0.1', url, log, registry }).map((r) => r.start(abort.signal)));
