/**
 * The record index: Services, EndpointSlices, Namespaces and (in `pods: verified` mode) Pods,
 * kept in the shapes lookups need: by namespace and name, by service, and by IP for PTR.
 *
 * Services, EndpointSlices and Pods live in shared tables (shared-table.ts) that every serving
 * thread reads, so memory does not grow with threads; the changes since a table was built
 * lie over it (layered-table.ts). The main thread is the one writer: a `restarted` event (a
 * fresh list) becomes a new table, swapped in at once so a lookup never sees half a list,
 * and once a kind holds enough changes they are folded into a new table. Each new table
 * goes to `onTable`, for the serving threads to `apply`; the threads apply the same change
 * events to their own layer meanwhile. Namespaces are few and stay an ordinary set.
 *
 * `synced` turns true once every watched kind has been listed and stays true: after an
 * apiserver outage the old content keeps answering until the new list is in.
 * Pure apart from the injected clock (the SOA serial is the time of the last change) and the
 * fold it schedules after the current event.
 */
import type { PodsMode } from '../../api/clusterdns.ts';
import type { ListGatherer, WatchEvent } from '../../kube/watcher.ts';
import { LayeredTable } from './layered-table.ts';
import type { NamespaceRecord, PodRecord, ServiceRecord, SliceRecord } from './objects.ts';
import { POD_LAYOUT, SERVICE_LAYOUT, SLICE_LAYOUT } from './record-layouts.ts';
import { TableBuilder } from './shared-table.ts';
import type { KindLayout, SharedTableData } from './shared-table.ts';

export type IndexedKind = 'services' | 'endpointslices' | 'namespaces' | 'pods';
export type TableKind = Exclude<IndexedKind, 'namespaces'>;

/** The kinds a resolver watches (and waits for before it is ready). */
export function watchedKinds(pods: PodsMode): IndexedKind[] {
  return pods === 'verified' ? ['services', 'endpointslices', 'namespaces', 'pods'] : ['services', 'endpointslices', 'namespaces'];
}

/** What brings another thread's index up to date: a watch event, or a kind's new table. */
export type IndexUpdate =
  | { readonly type: 'event'; readonly kind: IndexedKind; readonly event: WatchEvent<unknown> }
  /** `listed`: the table is a fresh list (not changes folded in), so the kind is synced. */
  | { readonly type: 'table'; readonly kind: TableKind; readonly table: SharedTableData; readonly listed: boolean };

/**
 * Changes a kind holds before they are folded into a new table: enough that folding (which
 * re-encodes the whole kind) is rare, few enough that each thread's layer stays small.
 */
export function foldThreshold(tableCount: number): number {
  return Math.max(1024, Math.floor(tableCount / 8));
}

/**
 * A relist of a kind with a table: its objects, or the table built from them as the list's
 * pages came in (gatherTable), so that a large list is never held as objects as well.
 */
export type Listed<T> = readonly T[] | { readonly table: SharedTableData };

/** A list gatherer that builds a kind's table page by page (leaving out terminating pods, which are never added). */
export function gatherTable<T extends ServiceRecord | SliceRecord | PodRecord>(kind: TableKind): ListGatherer<T, Listed<T>> {
  const builder = new TableBuilder(LAYOUTS[kind] as unknown as KindLayout<T>);
  return {
    add: (object) => { if (!(kind === 'pods' && (object as PodRecord).terminating)) builder.add(object); },
    done: () => ({ table: builder.finish() }),
  };
}

export interface IndexOptions {
  readonly now?: () => number;
  /** Told of every new table (the main thread passes it to the serving threads). */
  readonly onTable?: (update: Extract<IndexUpdate, { type: 'table' }>) => void;
  /** Folds changes into new tables; only the main thread does (threads adopt what it folds). */
  readonly folds?: boolean;
}

const TABLE_KINDS: readonly TableKind[] = ['services', 'endpointslices', 'pods'];
const LAYOUTS = { services: SERVICE_LAYOUT, endpointslices: SLICE_LAYOUT, pods: POD_LAYOUT } as const;

export class ClusterIndex {
  private readonly layers = {
    services: new LayeredTable<ServiceRecord>(SERVICE_LAYOUT),
    endpointslices: new LayeredTable<SliceRecord>(SLICE_LAYOUT),
    pods: new LayeredTable<PodRecord>(POD_LAYOUT),
  } as const;
  private namespaces = new Set<string>();
  private readonly pending: Set<IndexedKind>;
  private readonly options: IndexOptions;
  private readonly now: () => number;
  private modifiedSeconds: number;
  private foldScheduled = false;

  /** `kinds`: the kinds that are watched and must be listed before the index is synced. */
  constructor(kinds: readonly IndexedKind[], options: IndexOptions = {}) {
    this.pending = new Set(kinds);
    this.options = options;
    this.now = options.now ?? Date.now;
    this.modifiedSeconds = Math.floor(this.now() / 1000);
  }

  applyServices(event: WatchEvent<ServiceRecord, Listed<ServiceRecord>>): void {
    this.update('services', event);
  }

  applySlices(event: WatchEvent<SliceRecord, Listed<SliceRecord>>): void {
    this.update('endpointslices', event);
  }

  applyNamespaces(event: WatchEvent<NamespaceRecord>): void {
    if (event.type === 'restarted') {
      this.namespaces = new Set(event.objects.map((n) => n.name));
      this.listed('namespaces');
      return;
    }
    if (event.type === 'applied') {
      if (this.namespaces.has(event.object.name)) return;
      this.namespaces.add(event.object.name);
    } else {
      this.namespaces.delete(event.object.name);
    }
    this.touch();
  }

  applyPods(event: WatchEvent<PodRecord, Listed<PodRecord>>): void {
    // A terminating pod keeps answering with what it had until it is deleted, and is never added.
    if (event.type === 'restarted' && Array.isArray(event.objects)) event = { type: 'restarted', objects: (event.objects as readonly PodRecord[]).filter((pod) => !pod.terminating) };
    else if (event.type === 'applied' && event.object.terminating) return;
    this.update('pods', event);
  }

  /** Applies an event or a new table of any kind (what the main thread passes to the others). */
  apply(update: IndexUpdate): void {
    if (update.type === 'table') {
      this.layers[update.kind].reset(update.table);
      if (update.listed) this.listed(update.kind);
      return;
    }
    const { kind, event } = update;
    switch (kind) {
      case 'services':
        this.applyServices(event as WatchEvent<ServiceRecord>);
        break;
      case 'endpointslices':
        this.applySlices(event as WatchEvent<SliceRecord>);
        break;
      case 'namespaces':
        this.applyNamespaces(event as WatchEvent<NamespaceRecord>);
        break;
      case 'pods':
        this.applyPods(event as WatchEvent<PodRecord>);
        break;
    }
  }

  /**
   * Everything another thread needs to hold the same content: each listed kind's table, the
   * changes over it as events, and the namespaces as a relist.
   */
  snapshot(): IndexUpdate[] {
    const out: IndexUpdate[] = [];
    if (!this.pending.has('namespaces')) {
      out.push({ type: 'event', kind: 'namespaces', event: { type: 'restarted', objects: [...this.namespaces].map((name) => ({ name })) } });
    }
    for (const kind of TABLE_KINDS) {
      if (this.pending.has(kind)) continue;
      const layer = this.layers[kind];
      out.push({ type: 'table', kind, table: layer.table, listed: true });
      for (const { record, live } of layer.changed()) out.push({ type: 'event', kind, event: { type: live ? 'applied' : 'deleted', object: record } });
    }
    return out;
  }

  /** True once every watched kind has been listed at least once. */
  get synced(): boolean {
    return this.pending.size === 0;
  }

  /** The SOA serial: Unix time in seconds of the last change. */
  get serial(): number {
    return this.modifiedSeconds;
  }

  namespaceExists(name: string): boolean {
    return this.namespaces.has(name);
  }

  service(namespace: string, name: string): ServiceRecord | undefined {
    return this.layers.services.get(namespace, name);
  }

  /** The slices labelled with this service name (ready addresses only). */
  slicesOf(namespace: string, service: string): readonly SliceRecord[] {
    // The key map's keys are serviceKey(namespace, service) of record-layouts.ts.
    return this.layers.endpointslices.find('service', namespace, service);
  }

  servicesWithIp(ip: string): readonly ServiceRecord[] {
    return this.layers.services.find('ip', ip);
  }

  slicesWithIp(ip: string): readonly SliceRecord[] {
    return this.layers.endpointslices.find('ip', ip);
  }

  podsWithIp(ip: string): readonly PodRecord[] {
    return this.layers.pods.find('ip', ip);
  }

  /** Sizes, for logs and tests. */
  get counts(): { services: number; slices: number; addresses: number; namespaces: number; pods: number } {
    return {
      services: this.layers.services.size,
      slices: this.layers.endpointslices.size,
      addresses: this.layers.endpointslices.weight,
      namespaces: this.namespaces.size,
      pods: this.layers.pods.size,
    };
  }

  /** Bytes of shared memory the tables hold (the index's share of the process's memory). */
  get sharedBytes(): number {
    let total = 0;
    for (const kind of TABLE_KINDS) total += tableBytes(this.layers[kind].table);
    return total;
  }

  /**
   * Applies an event to a kind: a relist becomes a new table, swapped in at once; a change
   * replaces the stored version of the object (an unchanged object changes nothing).
   */
  private update<T extends ServiceRecord | SliceRecord | PodRecord>(kind: TableKind, event: WatchEvent<T, Listed<T>>): void {
    const layer = this.layers[kind] as unknown as LayeredTable<T>;
    if (event.type === 'restarted') {
      const listed = event.objects;
      let table: SharedTableData;
      if (Array.isArray(listed)) table = layer.replace(listed as readonly T[]);
      else {
        table = (listed as { readonly table: SharedTableData }).table;
        layer.reset(table);
      }
      this.listed(kind);
      this.options.onTable?.({ type: 'table', kind, table, listed: true });
      return;
    }
    const old = layer.get(event.object.namespace, event.object.name);
    if (event.type === 'applied' && old !== undefined && layer.same(old, event.object)) return;
    if (event.type === 'deleted' && old === undefined) return;
    layer.set(event.object, event.type === 'applied');
    this.touch();
    if (this.options.folds && layer.changeCount > foldThreshold(layer.table.count)) this.scheduleFold();
  }

  /**
   * Folds every kind's changes into new tables, after the event that crossed the threshold
   * has been passed on: a thread must see the events before the table that holds them.
   */
  private scheduleFold(): void {
    if (this.foldScheduled) return;
    this.foldScheduled = true;
    setImmediate(() => {
      this.foldScheduled = false;
      for (const kind of TABLE_KINDS) {
        const layer = this.layers[kind];
        if (layer.changeCount <= foldThreshold(layer.table.count)) continue;
        const table = layer.fold();
        this.options.onTable?.({ type: 'table', kind, table, listed: false });
      }
    }).unref();
  }

  private listed(kind: IndexedKind): void {
    this.pending.delete(kind);
    this.touch();
  }

  private touch(): void {
    this.modifiedSeconds = Math.floor(this.now() / 1000);
  }
}

function tableBytes(table: SharedTableData): number {
  let total = table.records.byteLength + table.recordEnds.byteLength;
  for (const map of Object.values(table.keys)) {
    total += map.slots.byteLength + map.hashes.byteLength + map.byteEnds.byteLength + map.postingEnds.byteLength + map.bytes.byteLength + map.postings.byteLength;
  }
  return total;
}
