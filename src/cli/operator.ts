/**
 * `clusterdns operator`: the ClusterDNS controller, the injection webhook and their health
 * and metrics endpoints, run by one manager. Exits 0 after SIGINT/SIGTERM, 1 when it lost
 * the lead or a part failed (so that Kubernetes restarts it), 2 on bad flags.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { KubeClient, loadKubeConfig } from '../kube/client.ts';
import { createLogger } from '../kube/log.ts';
import type { Logger } from '../kube/log.ts';
import { systemClock } from '../controller/clock.ts';
import { ClusterDNSController } from '../controller/controller.ts';
import { HttpEndpoint, healthRoutes, metricsRoutes } from '../controller/endpoints.ts';
import { LEASE_NAME, LeaseElector } from '../controller/leader-election.ts';
import { Manager } from '../controller/manager.ts';
import { OperatorMetrics } from '../controller/metrics.ts';
import { webhookRunnables } from '../webhook/runnables.ts';
import { OPERATOR_USAGE, parseOperatorFlags } from './operator-options.ts';
import type { OperatorOptions } from './operator-options.ts';

export async function run(args: string[]): Promise<number> {
  const flags = parseOperatorFlags(args);
  if (flags.kind === 'help') {
    process.stdout.write(OPERATOR_USAGE);
    return 0;
  }
  if (flags.kind === 'error') {
    process.stderr.write(`clusterdns operator: ${flags.message}\n\n${OPERATOR_USAGE}`);
    return 2;
  }
  const options = flags.options;
  const log = createLogger('operator', options.logLevel);
  let client: KubeClient;
  try {
    client = new KubeClient(loadKubeConfig(options.kubeconfig));
  } catch (error) {
    log.error({ err: error instanceof Error ? error.message : String(error) }, 'cannot load the kubeconfig');
    return 1;
  }
  const manager = buildManager(options, client, log);
  const stop = new AbortController();
  const onSignal = (name: string) => (): void => {
    if (stop.signal.aborted) {
      log.warn({ signal: name }, 'second signal: exiting now');
      process.exit(1);
    }
    log.info({ signal: name }, 'shutting down');
    stop.abort();
  };
  process.on('SIGINT', onSignal('SIGINT'));
  process.on('SIGTERM', onSignal('SIGTERM'));
  try {
    await manager.start(stop.signal);
    log.info('stopped');
    return 0;
  } catch (error) {
    log.error({ err: error instanceof Error ? error.message : String(error) }, 'operator stopped on an error');
    return 1;
  }
}

function buildManager(options: OperatorOptions, client: KubeClient, log: Logger): Manager {
  const identity = `${hostname()}_${randomUUID()}`;
  const metrics = new OperatorMetrics();
  metrics.leaderStatus.set({ name: LEASE_NAME }, 0);
  const elector = options.leaderElect
    ? new LeaseElector({ client, namespace: options.namespace, identity, clock: systemClock, log: log.child({ part: 'leader-election' }) })
    : undefined;
  const manager = new Manager({
    log: log.child({ part: 'manager' }),
    ...(elector ? { elector } : {}),
    onLeading: (leading) => { metrics.leaderStatus.set({ name: LEASE_NAME }, leading ? 1 : 0); },
  });
  log.info({ identity, namespace: options.namespace, selector: options.selector, leaderElect: options.leaderElect }, 'starting the operator');

  manager.add(new ClusterDNSController({
    client,
    render: { namespace: options.namespace, imageRepository: options.resolverImageRepository, corednsImageRepository: options.corednsImageRepository },
    selector: options.selector,
    identity,
    metrics,
    log: log.child({ part: 'controller' }),
    autoscaling: {
      debounceMs: options.autoscalingDebounceMs,
      maxDelayMs: 5 * options.autoscalingDebounceMs,
      downscaleStabilizationMs: options.autoscalingDownscaleStabilizationMs,
    },
    ...(options.analysisTargets ? { analysisTargetsFile: options.analysisTargets } : {}),
  }));
  if (options.metricsAddr) manager.add(new HttpEndpoint('metrics', options.metricsAddr, metricsRoutes(metrics.registry)));
  if (options.healthAddr) manager.add(new HttpEndpoint('health', options.healthAddr, healthRoutes({ manager: () => manager.started })));

  // ---- The injection webhook: its runnables join the manager here. ----
  if (options.webhook) {
    for (const runnable of webhookRunnables({
      client,
      namespace: options.namespace,
      port: options.webhookPort,
      ...(options.webhookHost ? { host: options.webhookHost } : {}),
      ...(options.webhookUrl ? { url: options.webhookUrl } : {}),
      log: log.child({ part: 'webhook' }),
      registry: metrics.registry,
    })) manager.add(runnable);
  }
  return manager;
}
