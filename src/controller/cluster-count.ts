/**
 * How much the cluster holds, for memory-sizing.ts: its Services, EndpointSlices (and their
 * endpoints) and Pods, counted every few minutes by three small lists, never a watch: the
 * operator must not hold the whole cluster to learn its size. A list with `limit` carries
 * the count of the rest in `metadata.remainingItemCount`; the endpoints are the slices'
 * count times the mean of the first page of them.
 *
 * A new count is passed on only when one of its figures moved by more than a tenth (and
 * 100 objects), so that the pods are not rolled for a handful of Services.
 */
import type { KubeClient } from '../kube/client.ts';
import type { Logger } from '../kube/log.ts';
import type { Clock } from './clock.ts';
import { sleep } from './clock.ts';
import type { ClusterContents } from './memory-sizing.ts';

export const COUNT_INTERVAL_MS = 5 * 60_000;
/** The slices whose endpoints give the mean: a page as long as client-go's (about 3 MiB parsed). */
const SAMPLE_SLICES = 500;
const CHANGE_SHARE = 0.1;
const CHANGE_MIN = 100;

const LISTS = {
  services: '/api/v1/services',
  endpointSlices: '/apis/discovery.k8s.io/v1/endpointslices',
  pods: '/api/v1/pods',
} as const;

/** A page of a list as the apiserver sends it; nothing in it is trusted. */
export interface ListPage {
  readonly metadata?: { readonly remainingItemCount?: unknown; readonly continue?: unknown };
  readonly items?: unknown;
}

/** The objects of the whole list, or undefined when the page does not say (a later page exists but no count of it). */
export function listCount(page: ListPage): number | undefined {
  const items = Array.isArray(page.items) ? page.items.length : 0;
  const rest = page.metadata?.remainingItemCount;
  if (typeof rest === 'number' && Number.isSafeInteger(rest) && rest >= 0) return items + rest;
  const more = typeof page.metadata?.continue === 'string' && page.metadata.continue !== '';
  return more ? undefined : items;
}

/** The mean number of addresses per slice of a page of EndpointSlices (1 when the page has none). */
export function meanEndpoints(page: ListPage): number {
  const slices = Array.isArray(page.items) ? page.items : [];
  if (slices.length === 0) return 1;
  let addresses = 0;
  for (const slice of slices) {
    const endpoints = (slice as { endpoints?: unknown } | null)?.endpoints;
    if (Array.isArray(endpoints)) addresses += endpoints.length;
  }
  return addresses / slices.length;
}

/** Whether `after` differs enough from `before` to size the pods again. */
export function movedEnough(before: ClusterContents | undefined, after: ClusterContents): boolean {
  if (!before) return true;
  return (Object.keys(after) as Array<keyof ClusterContents>).some((key) => {
    const delta = Math.abs(after[key] - before[key]);
    return delta > CHANGE_MIN && delta > before[key] * CHANGE_SHARE;
  });
}

export interface ClusterCounterOptions {
  readonly client: KubeClient;
  readonly clock: Clock;
  readonly log: Logger;
  readonly intervalMs?: number;
  /** A new count moved enough (the first one always does): the instances without spec.resources are reconciled again. */
  readonly onChange: (contents: ClusterContents) => void;
}

export class ClusterCounter {
  private readonly options: ClusterCounterOptions;
  private published: ClusterContents | undefined;
  private firstTry: Promise<void> | undefined;
  private failing = false;

  constructor(options: ClusterCounterOptions) {
    this.options = options;
  }

  /** The last count passed on; undefined until one succeeded. */
  current(): ClusterContents | undefined {
    return this.published;
  }

  /** Resolves once the first count succeeded or failed. */
  firstCount(): Promise<void> {
    return this.firstTry ?? Promise.resolve();
  }

  /** Counts at once, then every interval until `signal` aborts. */
  async run(signal: AbortSignal): Promise<void> {
    const { clock, intervalMs = COUNT_INTERVAL_MS } = this.options;
    while (!signal.aborted) {
      const attempt = this.countOnce();
      this.firstTry ??= attempt;
      await attempt;
      await sleep(clock, intervalMs, signal);
    }
  }

  private async countOnce(): Promise<void> {
    const { log, onChange } = this.options;
    let counted: ClusterContents | undefined;
    try {
      counted = await countCluster(this.options.client);
    } catch (error) {
      if (!this.failing) log.warn({ err: error instanceof Error ? error.message : String(error) }, 'could not count the cluster; pods keep their resources');
      this.failing = true;
      return;
    }
    this.failing = false;
    if (!counted) {
      log.warn('the apiserver gives no count of its lists (metadata.remainingItemCount); pods keep their resources');
      return;
    }
    if (!movedEnough(this.published, counted)) return;
    log.info({ ...counted }, 'counted the cluster');
    this.published = counted;
    onChange(counted);
  }

}

/** One count of the cluster; undefined when the apiserver does not say how long its lists are. */
export async function countCluster(client: KubeClient): Promise<ClusterContents | undefined> {
  const page = (path: string, limit: number): Promise<ListPage> => client.request<ListPage>('GET', path, { query: { limit } });
  const [services, slices, pods] = await Promise.all([page(LISTS.services, 1), page(LISTS.endpointSlices, SAMPLE_SLICES), page(LISTS.pods, 1)]);
  const counts = { services: listCount(services), endpointSlices: listCount(slices), pods: listCount(pods) };
  if (counts.services === undefined || counts.endpointSlices === undefined || counts.pods === undefined) return undefined;
  return {
    services: counts.services,
    endpointSlices: counts.endpointSlices,
    endpoints: Math.round(counts.endpointSlices * meanEndpoints(slices)),
    pods: counts.pods,
  };
}
