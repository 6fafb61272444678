/**
 * The record index: Services, EndpointSlices, Namespaces and (in `pods: verified` mode) Pods,
 * kept in the shapes lookups need: by namespace and name, by service, and by IP for PTR.
 *
 * One writer (the watches) applies watch events; a `restarted` event (a fresh list)
 * rebuilds that kind's maps aside and swaps them in at once, so a lookup never sees half a
 * list. `synced` turns true once every watched kind has been listed and stays true: after
 * an apiserver outage the old content keeps answering until the new list is in.
 * Pure apart from the injected clock (the SOA serial is the time of the last change).
 */
import type { WatchEvent } from '../../kube/watcher.ts';
import type { NamespaceRecord, PodRecord, ServiceRecord, SliceRecord } from './objects.ts';

export type IndexedKind = 'services' | 'endpointslices' | 'namespaces' | 'pods';

type Nested<T> = Map<string, Map<string, T>>;

const EMPTY: readonly never[] = Object.freeze([]);

function nestedGet<T>(map: Nested<T>, outer: string, inner: string): T | undefined {
  return map.get(outer)?.get(inner);
}

function nestedSet<T>(map: Nested<T>, outer: string, inner: string, value: T): void {
  let level = map.get(outer);
  if (!level) {
    level = new Map<string, T>();
    map.set(outer, level);
  }
  level.set(inner, value);
}

function nestedDelete<T>(map: Nested<T>, outer: string, inner: string): void {
  const level = map.get(outer);
  if (!level) return;
  level.delete(inner);
  if (level.size === 0) map.delete(outer);
}

/**
 * Lists by key (the objects that have an address) hold a lone object as itself, not as an
 * array of one: nearly every address belongs to one object, and an array each would add a
 * third to the index of a large cluster. Objects are never arrays.
 */
type Listed<T> = Map<string, T | T[]>;

function listAdd<T>(map: Listed<T>, key: string, value: T): void {
  const values = map.get(key);
  if (values === undefined) map.set(key, value);
  else if (Array.isArray(values)) values.push(value);
  else map.set(key, [values, value]);
}

function listRemove<T>(map: Listed<T>, key: string, value: T): void {
  const values = map.get(key);
  if (values === undefined) return;
  if (!Array.isArray(values)) {
    if (values === value) map.delete(key);
    return;
  }
  const rest = values.filter((v) => v !== value);
  if (rest.length > 1) map.set(key, rest);
  else if (rest.length === 1 && rest[0] !== undefined) map.set(key, rest[0]);
  else map.delete(key);
}

function listGet<T>(map: Listed<T>, key: string): readonly T[] {
  const values = map.get(key);
  if (values === undefined) return EMPTY;
  return Array.isArray(values) ? values : [values];
}

function same<T>(a: T | undefined, b: T): boolean {
  return a !== undefined && JSON.stringify(a) === JSON.stringify(b);
}

/** One kind's maps; `find` gives the stored version of an object (by its key). */
interface Table<T> {
  add(object: T): void;
  remove(object: T): void;
  find(object: T): T | undefined;
}

class ServiceTable implements Table<ServiceRecord> {
  byName: Nested<ServiceRecord> = new Map();
  byIp: Listed<ServiceRecord> = new Map();
  size = 0;

  add(service: ServiceRecord): void {
    nestedSet(this.byName, service.namespace, service.name, service);
    for (const ip of service.clusterIPs) listAdd(this.byIp, ip, service);
    this.size++;
  }

  remove(service: ServiceRecord): void {
    nestedDelete(this.byName, service.namespace, service.name);
    for (const ip of service.clusterIPs) listRemove(this.byIp, ip, service);
    this.size--;
  }

  find(service: ServiceRecord): ServiceRecord | undefined {
    return nestedGet(this.byName, service.namespace, service.name);
  }
}

class SliceTable implements Table<SliceRecord> {
  byKey = new Map<string, SliceRecord>();
  byService: Nested<SliceRecord[]> = new Map();
  byIp: Listed<SliceRecord> = new Map();
  addresses = 0;

  add(slice: SliceRecord): void {
    this.byKey.set(`${slice.namespace}/${slice.name}`, slice);
    const list = nestedGet(this.byService, slice.namespace, slice.service);
    if (list) list.push(slice);
    else nestedSet(this.byService, slice.namespace, slice.service, [slice]);
    for (const address of slice.addresses) listAdd(this.byIp, address.ip, slice);
    this.addresses += slice.addresses.length;
  }

  remove(slice: SliceRecord): void {
    this.byKey.delete(`${slice.namespace}/${slice.name}`);
    const rest = (nestedGet(this.byService, slice.namespace, slice.service) ?? []).filter((s) => s !== slice);
    if (rest.length > 0) nestedSet(this.byService, slice.namespace, slice.service, rest);
    else nestedDelete(this.byService, slice.namespace, slice.service);
    for (const address of slice.addresses) listRemove(this.byIp, address.ip, slice);
    this.addresses -= slice.addresses.length;
  }

  find(slice: SliceRecord): SliceRecord | undefined {
    return this.byKey.get(`${slice.namespace}/${slice.name}`);
  }
}

class PodTable implements Table<PodRecord> {
  byKey = new Map<string, PodRecord>();
  byIp: Listed<PodRecord> = new Map();

  add(pod: PodRecord): void {
    this.byKey.set(`${pod.namespace}/${pod.name}`, pod);
    for (const ip of pod.ips) listAdd(this.byIp, ip, pod);
  }

  remove(pod: PodRecord): void {
    this.byKey.delete(`${pod.namespace}/${pod.name}`);
    for (const ip of pod.ips) listRemove(this.byIp, ip, pod);
  }

  find(pod: PodRecord): PodRecord | undefined {
    return this.byKey.get(`${pod.namespace}/${pod.name}`);
  }
}

export class ClusterIndex {
  private services = new ServiceTable();
  private slices = new SliceTable();
  private namespaces = new Set<string>();
  private pods = new PodTable();
  private readonly pending: Set<IndexedKind>;
  private readonly now: () => number;
  private modifiedSeconds: number;

  /** `kinds`: the kinds that are watched and must be listed before the index is synced. */
  constructor(kinds: readonly IndexedKind[], now: () => number = Date.now) {
    this.pending = new Set(kinds);
    this.now = now;
    this.modifiedSeconds = Math.floor(now() / 1000);
  }

  applyServices(event: WatchEvent<ServiceRecord>): void {
    const fresh = this.update('services', event, this.services, () => new ServiceTable());
    if (fresh) this.services = fresh;
  }

  applySlices(event: WatchEvent<SliceRecord>): void {
    const fresh = this.update('endpointslices', event, this.slices, () => new SliceTable());
    if (fresh) this.slices = fresh;
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

  applyPods(event: WatchEvent<PodRecord>): void {
    // A terminating pod keeps answering with what it had until it is deleted, and is never added.
    if (event.type === 'restarted') event = { type: 'restarted', objects: event.objects.filter((pod) => !pod.terminating) };
    else if (event.type === 'applied' && event.object.terminating) return;
    const fresh = this.update('pods', event, this.pods, () => new PodTable());
    if (fresh) this.pods = fresh;
  }

  /**
   * Applies an event to a kind's table: a relist fills a new table, returned for the caller
   * to swap in at once; a change replaces the stored version (an unchanged object changes nothing).
   */
  private update<T, Kind extends Table<T>>(kind: IndexedKind, event: WatchEvent<T>, table: Kind, create: () => Kind): Kind | undefined {
    if (event.type === 'restarted') {
      const fresh = create();
      for (const object of event.objects) fresh.add(object);
      this.listed(kind);
      return fresh;
    }
    const old = table.find(event.object);
    if (event.type === 'applied' && same(old, event.object)) return undefined;
    if (old) table.remove(old);
    if (event.type === 'applied') table.add(event.object);
    this.touch();
    return undefined;
  }

  /** Applies an event of any kind (events that cross threads say their kind). */
  apply(kind: IndexedKind, event: WatchEvent<unknown>): void {
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
   * The content of every kind listed so far, as the `restarted` events that rebuild it (to
   * bring a new serving thread up to date).
   */
  snapshot(): Array<{ kind: IndexedKind; event: WatchEvent<unknown> }> {
    const listed = (kind: IndexedKind): boolean => !this.pending.has(kind);
    const out: Array<{ kind: IndexedKind; event: WatchEvent<unknown> }> = [];
    const add = (kind: IndexedKind, objects: unknown[]): void => {
      if (listed(kind)) out.push({ kind, event: { type: 'restarted', objects } });
    };
    add('namespaces', [...this.namespaces].map((name) => ({ name })));
    add('services', [...this.services.byName.values()].flatMap((level) => [...level.values()]));
    add('endpointslices', [...this.slices.byKey.values()]);
    add('pods', [...this.pods.byKey.values()]);
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
    return nestedGet(this.services.byName, namespace, name);
  }

  /** The slices labelled with this service name (ready addresses only). */
  slicesOf(namespace: string, service: string): readonly SliceRecord[] {
    return nestedGet(this.slices.byService, namespace, service) ?? EMPTY;
  }

  servicesWithIp(ip: string): readonly ServiceRecord[] {
    return listGet(this.services.byIp, ip);
  }

  slicesWithIp(ip: string): readonly SliceRecord[] {
    return listGet(this.slices.byIp, ip);
  }

  podsWithIp(ip: string): readonly PodRecord[] {
    return listGet(this.pods.byIp, ip);
  }

  /** Sizes, for logs and tests. */
  get counts(): { services: number; slices: number; addresses: number; namespaces: number; pods: number } {
    return {
      services: this.services.size,
      slices: this.slices.byKey.size,
      addresses: this.slices.addresses,
      namespaces: this.namespaces.size,
      pods: this.pods.byKey.size,
    };
  }

  private listed(kind: IndexedKind): void {
    this.pending.delete(kind);
    this.touch();
  }

  private touch(): void {
    this.modifiedSeconds = Math.floor(this.now() / 1000);
  }
}
