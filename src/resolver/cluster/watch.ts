/**
 * The watch cache: list-and-watch of Services, EndpointSlices (discovery.k8s.io/v1),
 * Namespaces and, in `pods: verified` mode, Pods (not in Succeeded, Failed or Unknown
 * phase, as CoreDNS), each shrunk on arrival and applied to the index.
 *
 * The watches never end by themselves: src/kube/watcher.ts resumes after a dropped watch,
 * lists afresh after `410 Gone` and keeps retrying (with backoff) while the apiserver is
 * away; meanwhile the index keeps answering from what it has. Each EndpointSlice change
 * that carries `endpoints.kubernetes.io/last-change-trigger-time` is observed in
 * `coredns_kubernetes_dns_programming_duration_seconds`, as CoreDNS does.
 */
import type { PodsMode } from '../../api/clusterdns.ts';
import type { Backoff } from '../../kube/backoff.ts';
import type { KubeClient } from '../../kube/client.ts';
import type { Logger } from '../../kube/log.ts';
import { Watcher } from '../../kube/watcher.ts';
import type { ListGatherer, RawObject, ResourceRef, WatchEvent } from '../../kube/watcher.ts';
import type { ResolverMetrics } from '../metrics/registry.ts';
import { gatherTable } from './cluster-index.ts';
import type { ClusterIndex, IndexedKind, Listed } from './cluster-index.ts';
import { shrinkEndpointSlice, shrinkNamespace, shrinkPod, shrinkService } from './objects.ts';
import type { NamespaceRecord, SliceRecord } from './objects.ts';

export interface ClusterWatchOptions {
  readonly client: KubeClient;
  readonly index: ClusterIndex;
  readonly pods: PodsMode;
  readonly metrics: ResolverMetrics;
  readonly log: Logger;
  /** A fresh backoff per watch (tests pass short ones). */
  readonly backoff?: () => Backoff;
  /**
   * Told every event after the index applied it (the serving threads get a copy). A relist
   * of Services, EndpointSlices or Pods comes as the table built from it, not as objects.
   */
  readonly onEvent?: (kind: IndexedKind, event: WatchEvent<unknown, unknown>) => void;
  /** Objects per list page (listPageSize()). */
  readonly pageSize?: number;
  /** Told once, when every kind has been listed. */
  readonly onSynced?: () => void;
  readonly now?: () => number;
}

const RESOURCES: Record<IndexedKind, ResourceRef> = {
  services: { path: '/api/v1/services' },
  endpointslices: { path: '/apis/discovery.k8s.io/v1/endpointslices' },
  namespaces: { path: '/api/v1/namespaces' },
  pods: { path: '/api/v1/pods', fieldSelector: 'status.phase!=Succeeded,status.phase!=Failed,status.phase!=Unknown' },
};

/**
 * Objects per list page, from the process's memory limit. client-go's 500 makes a
 * 50,000-object kind 100 round trips, and the apiserver's per-page work then takes twice the
 * time of pages of 5,000. But a page is held whole while it is shrunk (a page of 5,000
 * EndpointSlices is about 30 MiB parsed), and within a 170 MiB limit pages of 5,000 got a
 * resolver OOM-killed at 100,000 Services where pages of 500 peaked at 163 MiB
 * (bench/RESULTS.md). So: a page per 512 KiB of the limit, between 500 and 5,000; 5,000
 * without a limit.
 */
export function listPageSize(memoryLimitBytes: number | undefined): number {
  if (memoryLimitBytes === undefined) return MAX_PAGE;
  return Math.min(MAX_PAGE, Math.max(MIN_PAGE, Math.floor(memoryLimitBytes / (512 * 1024))));
}

const MIN_PAGE = 500;
const MAX_PAGE = 5000;

/** Runs the watches until `signal` aborts; resolves once they have all stopped. */
export async function runClusterWatch(options: ClusterWatchOptions, signal: AbortSignal): Promise<void> {
  const { index, log } = options;
  const now = options.now ?? Date.now;
  let reportedSync = false;
  const afterEvent = (): void => {
    if (!reportedSync && index.synced) {
      reportedSync = true;
      log.info({ ...index.counts }, 'watch cache synced');
      options.onSynced?.();
    }
  };
  const onError = (kind: IndexedKind) => (error: Error): void => {
    log.warn({ kind, err: error.message }, 'watch failed; retrying');
  };
  const watch = <T>(kind: IndexedKind, shrink: (raw: RawObject) => T, apply: (event: WatchEvent<T, Listed<T>>) => void, gather?: () => ListGatherer<T, Listed<T>>): Promise<void> => {
    const watcher = new Watcher<T, Listed<T>>({
      client: options.client,
      resource: RESOURCES[kind],
      shrink,
      pageSize: options.pageSize ?? MAX_PAGE,
      ...(gather ? { gather } : {}),
      onEvent: (event) => {
        apply(event);
        options.onEvent?.(kind, event);
        if (event.type === 'restarted') log.info({ kind, objects: listedCount(event.objects) }, 'listed');
        afterEvent();
      },
      onError: onError(kind),
      ...(options.backoff ? { backoff: options.backoff() } : {}),
    });
    return watcher.run(signal);
  };
  const runs = [
    watch('services', shrinkService, (e) => { index.applyServices(e); }, () => gatherTable('services')),
    watch('endpointslices', shrinkEndpointSlice, (e) => {
      index.applySlices(e);
      if (e.type !== 'restarted') observeProgramming(e.object, options, now());
    }, () => gatherTable('endpointslices')),
    // Without a gatherer, a relist of namespaces is an array.
    watch('namespaces', shrinkNamespace, (e) => { index.applyNamespaces(e as WatchEvent<NamespaceRecord>); }),
  ];
  if (options.pods === 'verified') runs.push(watch('pods', shrinkPod, (e) => { index.applyPods(e); }, () => gatherTable('pods')));
  await Promise.all(runs);
}

function listedCount(listed: Listed<unknown>): number {
  return Array.isArray(listed) ? listed.length : (listed as { readonly table: { readonly count: number } }).table.count;
}

/** Time from the change that triggered an EndpointSlice update to the moment it is answerable. */
function observeProgramming(slice: SliceRecord, options: ClusterWatchOptions, now: number): void {
  if (slice.triggerTime === undefined) return;
  const service = options.index.service(slice.namespace, slice.service);
  if (!service) return;
  const kind = service.kind === 'headless' ? 'headless_with_selector' : 'cluster_ip';
  options.metrics.programmed(kind, Math.max(0, now - slice.triggerTime) / 1000);
}
