/**
 * A kind's records as lookups see them: a shared table (shared-table.ts), immutable and read
 * by every serving thread, with the changes since it was built laid over it. Each thread
 * applies the same watch events to its own layer of changes, which stays small: once it
 * holds enough changes, the main thread folds them into a new table and every thread swaps
 * it in and drops its layer (cluster-index.ts).
 */
import { recordKey } from './record-layouts.ts';
import { SharedTable, buildTable } from './shared-table.ts';
import type { KindLayout, SharedTableData } from './shared-table.ts';

interface Named {
  readonly namespace: string;
  readonly name: string;
}

/** A record as changed since the table: still there (`live`), or deleted. */
export interface Change<T> {
  readonly record: T;
  readonly live: boolean;
}

export class LayeredTable<T extends Named> {
  private readonly layout: KindLayout<T>;
  private base: SharedTable<T>;
  private readonly changes = new Map<string, Change<T>>();
  /** Per key map of the layout: its keys to the changed records (by record key) that have them. */
  private readonly changedByKey = new Map<string, Map<string, Set<string>>>();
  size = 0;
  weight = 0;

  constructor(layout: KindLayout<T>) {
    this.layout = layout;
    this.base = SharedTable.empty(layout);
  }

  /** The table under the changes (what a new thread is given with `changed()`). */
  get table(): SharedTableData {
    return this.base.data;
  }

  get changeCount(): number {
    return this.changes.size;
  }

  /** Makes `table` the base and drops every change (it holds them, or is a fresh list). */
  reset(table: SharedTableData): void {
    this.base = new SharedTable(table, this.layout);
    this.changes.clear();
    this.changedByKey.clear();
    this.size = table.count;
    this.weight = table.weight;
  }

  /** Makes `records` (a fresh list) the table, returned to be passed on. */
  replace(records: Iterable<T>): SharedTableData {
    const table = buildTable(records, this.layout);
    this.reset(table);
    return table;
  }

  /** Folds the changes into a new table, returned to be passed on. */
  fold(): SharedTableData {
    return this.replace(this.all());
  }

  /** The record called `namespace/name`. */
  get(namespace: string, name: string): T | undefined {
    if (this.changes.size > 0) {
      const change = this.changes.get(recordKey({ namespace, name }));
      if (change) return change.live ? change.record : undefined;
    }
    return this.base.first('key', namespace, name);
  }

  /** The records with a key (`key`, or `key/suffix`) in the layout's key map `name`, the table's first. */
  find(name: string, key: string, suffix?: string): T[] {
    const found = this.base.find(name, key, suffix);
    if (this.changes.size === 0) return found;
    const out = found.filter((record) => !this.changes.has(recordKey(record)));
    for (const changed of this.changedByKey.get(name)?.get(suffix === undefined ? key : `${key}/${suffix}`) ?? []) {
      const change = this.changes.get(changed);
      if (change?.live) out.push(change.record);
    }
    return out;
  }

  /** Records `record` as the current version of its key (`live` false: deleted). */
  set(record: T, live: boolean): void {
    const key = recordKey(record);
    const old = this.get(record.namespace, record.name);
    if (old) {
      this.size--;
      this.weight -= this.layout.weight?.(old) ?? 0;
      if (this.changes.has(key)) this.index(old, key, false);
    }
    this.changes.set(key, { record, live });
    if (!live) return;
    this.size++;
    this.weight += this.layout.weight?.(record) ?? 0;
    this.index(record, key, true);
  }

  /** The changes, in the order they were made (a new thread replays them over `table`). */
  changed(): Iterable<Change<T>> {
    return this.changes.values();
  }

  /** Every current record: the table's that were not changed, then the changed ones. */
  *all(): Iterable<T> {
    for (const record of this.base.all()) if (!this.changes.has(recordKey(record))) yield record;
    for (const change of this.changes.values()) if (change.live) yield change.record;
  }

  /** Whether two versions of a record store the same. */
  same(a: T, b: T): boolean {
    return JSON.stringify(this.layout.pack(a)) === JSON.stringify(this.layout.pack(b));
  }

  private index(record: T, key: string, add: boolean): void {
    for (const [name, keysOf] of Object.entries(this.layout.keys)) {
      if (name === 'key') continue;
      let byKey = this.changedByKey.get(name);
      if (!byKey) {
        byKey = new Map();
        this.changedByKey.set(name, byKey);
      }
      for (const value of keysOf(record)) {
        let keys = byKey.get(value);
        if (add) {
          if (!keys) byKey.set(value, keys = new Set());
          keys.add(key);
        } else if (keys) {
          keys.delete(key);
          if (keys.size === 0) byKey.delete(value);
        }
      }
    }
  }
}
