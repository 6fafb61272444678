/**
 * The operator's Prometheus metrics, under the names controller-runtime and client-go use
 * (so existing dashboards and alerts work), in a registry of its own (no global state).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { QueueObserver } from './queue.ts';

export const CONTROLLER_NAME = 'clusterdns';

export class OperatorMetrics {
  readonly registry = new Registry();
  readonly reconcileTotal: Counter<'controller' | 'result'>;
  readonly reconcileErrors: Counter<'controller'>;
  readonly terminalReconcileErrors: Counter<'controller'>;
  readonly reconcileTime: Histogram<'controller'>;
  readonly activeWorkers: Gauge<'controller'>;
  readonly leaderStatus: Gauge<'name'>;
  /** Writes the operator sent to the apiserver, by verb and resource. */
  readonly writes: Counter<'verb' | 'resource'>;
  /** Switches of who answers at an instance's clusterIP (status.serving), by instance. */
  readonly servingSwitches: Counter<'name' | 'from' | 'to'>;
  readonly clusterObjects: Gauge<'kind'>;
  private readonly queueAdds: Counter<'name' | 'controller'>;
  private readonly queueRetries: Counter<'name' | 'controller'>;
  private readonly queueWait: Histogram<'name' | 'controller'>;
  private readonly queueWork: Histogram<'name' | 'controller'>;
  private depthOf: () => number = () => 0;
  private longestRunningOf: () => number = () => 0;

  constructor() {
    const registers = [this.registry];
    const seconds = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
    const queueLabels = { name: CONTROLLER_NAME, controller: CONTROLLER_NAME };
    this.reconcileTotal = new Counter({ name: 'controller_runtime_reconcile_total', help: 'Total number of reconciliations per controller', labelNames: ['controller', 'result'], registers });
    this.reconcileErrors = new Counter({ name: 'controller_runtime_reconcile_errors_total', help: 'Total number of reconciliation errors per controller', labelNames: ['controller'], registers });
    this.terminalReconcileErrors = new Counter({ name: 'controller_runtime_terminal_reconcile_errors_total', help: 'Total number of terminal reconciliation errors per controller', labelNames: ['controller'], registers });
    this.reconcileTime = new Histogram({ name: 'controller_runtime_reconcile_time_seconds', help: 'Length of time per reconciliation per controller', labelNames: ['controller'], buckets: seconds, registers });
    this.activeWorkers = new Gauge({ name: 'controller_runtime_active_workers', help: 'Number of currently used workers per controller', labelNames: ['controller'], registers });
    this.leaderStatus = new Gauge({ name: 'leader_election_master_status', help: '1 while this replica leads, 0 otherwise', labelNames: ['name'], registers });
    this.writes = new Counter({ name: 'clusterdns_operator_apiserver_writes_total', help: 'Write requests the operator sent to the apiserver', labelNames: ['verb', 'resource'], registers });
    this.servingSwitches = new Counter({
      name: 'clusterdns_operator_serving_switches_total', help: 'Switches of who answers at an instance\'s clusterIP (status.serving: Instance, Baseline, None)',
      labelNames: ['name', 'from', 'to'], registers,
    });
    this.clusterObjects = new Gauge({
      name: 'clusterdns_operator_cluster_objects', help: 'What the cluster holds as last counted for sizing the pods\' memory (kind: services, endpointSlices, endpoints, pods)',
      labelNames: ['kind'], registers,
    });
    this.queueAdds = new Counter({ name: 'workqueue_adds_total', help: 'Total number of adds handled by workqueue', labelNames: ['name', 'controller'], registers });
    this.queueRetries = new Counter({ name: 'workqueue_retries_total', help: 'Total number of retries handled by workqueue', labelNames: ['name', 'controller'], registers });
    this.queueWait = new Histogram({ name: 'workqueue_queue_duration_seconds', help: 'How long in seconds an item stays in workqueue before being requested', labelNames: ['name', 'controller'], buckets: seconds, registers });
    this.queueWork = new Histogram({ name: 'workqueue_work_duration_seconds', help: 'How long in seconds processing an item from workqueue takes', labelNames: ['name', 'controller'], buckets: seconds, registers });
    // Read at scrape time from whatever queue is current (a new one per term of leadership).
    const depthOf = (): number => this.depthOf();
    const longestOf = (): number => this.longestRunningOf();
    new Gauge({ name: 'workqueue_depth', help: 'Current depth of workqueue', labelNames: ['name', 'controller'], registers, collect() { this.set(queueLabels, depthOf()); } });
    new Gauge({
      name: 'workqueue_longest_running_processor_seconds', help: 'How many seconds has the longest running processor for workqueue been running',
      labelNames: ['name', 'controller'], registers, collect() { this.set(queueLabels, longestOf() / 1000); },
    });
    this.reconcileTotal.inc({ controller: CONTROLLER_NAME, result: 'success' }, 0);
    this.reconcileErrors.inc({ controller: CONTROLLER_NAME }, 0);
    collectDefaultMetrics({ register: this.registry });
  }

  /** Makes `queue` the one whose depth is reported, and returns the observer to give it. */
  observeQueue(depth: () => number, longestRunningMs: () => number): QueueObserver {
    this.depthOf = depth;
    this.longestRunningOf = longestRunningMs;
    const labels = { name: CONTROLLER_NAME, controller: CONTROLLER_NAME };
    return {
      added: () => { this.queueAdds.inc(labels); },
      retried: () => { this.queueRetries.inc(labels); },
      started: (_key, waitedMs) => { this.queueWait.observe(labels, waitedMs / 1000); },
      finished: (_key, workedMs) => { this.queueWork.observe(labels, workedMs / 1000); },
    };
  }
}
