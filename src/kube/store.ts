/**
 * A cache of one resource kind with one writer (a watcher) and a ready gate.
 *
 * A `restarted` event (a fresh list) replaces the whole content at once, so a reader never
 * sees a mix of the old and new list; `synced` turns true at the first list and stays true
 * (a relist after an apiserver outage keeps serving the old content until the new one is in).
 */
import type { WatchEvent } from './watcher.ts';

export class Store<T> {
  private objects = new Map<string, T>();
  private syncedOnce = false;
  private readonly waiters: Array<() => void> = [];
  private readonly keyOf: (object: T) => string;

  constructor(keyOf: (object: T) => string) {
    this.keyOf = keyOf;
  }

  /** Applies one watcher event. The only way the content changes. */
  apply(event: WatchEvent<T>): void {
    switch (event.type) {
      case 'restarted':
        this.objects = new Map(event.objects.map((o) => [this.keyOf(o), o]));
        if (!this.syncedOnce) {
          this.syncedOnce = true;
          for (const wake of this.waiters.splice(0)) wake();
        }
        break;
      case 'applied':
        this.objects.set(this.keyOf(event.object), event.object);
        break;
      case 'deleted':
        this.objects.delete(this.keyOf(event.object));
        break;
    }
  }

  get(key: string): T | undefined {
    return this.objects.get(key);
  }

  list(): T[] {
    return [...this.objects.values()];
  }

  get synced(): boolean {
    return this.syncedOnce;
  }

  /** Resolves once the first list is in. */
  waitForSync(): Promise<void> {
    if (this.syncedOnce) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }
}

/** The cache key of a namespaced or cluster-scoped object: `namespace/name` or `name`. */
export function objectKey(namespace: string | undefined, name: string): string {
  return namespace ? `${namespace}/${name}` : name;
}
