/**
 * The webhook's runnables in a process of their own, as the operator runs them, for the
 * benchmark and the hostile-traffic tests:
 * `node test/support/webhook-process.ts KUBECONFIG NAMESPACE PORT METRICS_PORT [LIMITS_JSON]`.
 * LIMITS_JSON overrides some of the server's limits (tests shorten the timeouts). Serves its
 * metrics on 127.0.0.1:METRICS_PORT; stops on SIGTERM.
 */
import { createServer } from 'node:http';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { WEBHOOK_PATH } from '../../src/api/names.ts';
import { KubeClient, loadKubeConfig } from '../../src/kube/client.ts';
import { webhookRunnables } from '../../src/webhook/runnables.ts';
import type { ServerLimits } from '../../src/webhook/server.ts';

const [kubeconfig = '', namespace = '', port = '', metricsPort = '', limits = '{}'] = process.argv.slice(2);
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
const log = pino({ level: process.env['TEST_LOG_LEVEL'] ?? 'warn' }, pino.destination(2));
const client = new KubeClient(loadKubeConfig(kubeconfig));
const url = `https://127.0.0.1:${port}${WEBHOOK_PATH}`;
const serverLimits = JSON.parse(limits) as Partial<ServerLimits>;
await Promise.all(webhookRunnables({ client, namespace, port: Number(port), host: '127.0.0.1', url, log, registry, serverLimits }).map((r) => r.start(abort.signal)));
