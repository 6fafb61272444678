/**
 * How much the cluster holds, for memory-sizing.ts: its Services, EndpointSlices (and their
 * endpoints) and Pods, counted every few minutes by lists, never a watch: the operator must
 * not hold the whole cluster to learn its size. A list with `limit` carries the count of the
 * rest in `metadata.remainingItemCount`, which gives the Services and Pods from one object
 * each. The endpoints are counted over every EndpointSlice, a page of 500 at a time: the
 * slices are listed in key order (namespace, then name), so no first page is a fair sample
 * of them, and one namespace of large slices is what outgrows a limit.
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
/** Slices per page: as long as client-go's pages (a few MiB parsed, let go before the next). */
const SLICES_PER_PAGE = 500;
/** A list that goes on beyond this many pages (a million slices) is not counted: an apiserver that never ends it must not hold the operator. */
const MAX_PAGES = 2000;
/** After a failed count, the next try comes sooner than the interval. */
const RETRY_MS = 30_000;
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

/** The addresses of the EndpointSlices of a page, skipping what is not a slice. */
export function endpointsIn(page: ListPage): number {
  const slices = Array.isArray(page.items) ? page.items : [];
  let addresses = 0;
  for (const slice of slices) {
    const endpoints = (slice as { endpoints?: unknown } | null)?.endpoints;
    if (Array.isArray(endpoints)) addresses += endpoints.length;
  }
  return addresses;
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
      await sleep(clock, this.failing ? Math.min(RETRY_MS, intervalMs) : intervalMs, signal);
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
  const size = async (path: string): Promise<number | undefined> => listCount(await client.request<ListPage>('GET', path, { query: { limit: 1 } }));
  const [services, slices, pods] = await Promise.all([size(LISTS.services), countEndpoints(client), size(LISTS.pods)]);
  if (services === undefined || pods === undefined) return undefined;
  return { services, ...slices, pods };
}

/** The EndpointSlices and their addresses, page by page. */
async function countEndpoints(client: KubeClient): Promise<{ endpointSlices: number; endpoints: number }> {
  let endpointSlices = 0;
  let endpoints = 0;
  let next: string | undefined;
  let pages = 0;
  do {
    if (++pages > MAX_PAGES) throw new Error(`the EndpointSlices go on beyond ${MAX_PAGES} pages of ${SLICES_PER_PAGE}`);
    const query: Record<string, string | number> = { limit: SLICES_PER_PAGE, ...(next === undefined ? {} : { continue: next }) };
    const page = await client.request<ListPage>('GET', LISTS.endpointSlices, { query });
    endpointSlices += Array.isArray(page.items) ? page.items.length : 0;
    endpoints += endpointsIn(page);
    const token = page.metadata?.continue;
    next = typeof token === 'string' && token !== '' ? token : undefined;
  } while (next !== undefined);
  return { endpointSlices, endpoints };
}
