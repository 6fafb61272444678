/**
 * An informer: a watcher that fills a store and reports each change as (before, after), so
 * that event-to-key mapping can look at the old and the new object alike.
 *
 * A relist (after a restart of the watch or an outage) reports every object that appeared,
 * changed or disappeared against the previous content, so nothing missed in between is lost.
 */
import { Store } from '../kube/store.ts';
import { Watcher } from '../kube/watcher.ts';
import type { RawObject, ResourceRef, WatchEvent } from '../kube/watcher.ts';
import type { KubeClient } from '../kube/client.ts';
import type { Backoff } from '../kube/backoff.ts';

export interface InformerOptions<T> {
  readonly client: KubeClient;
  readonly resource: ResourceRef;
  readonly shrink: (raw: RawObject) => T;
  readonly keyOf: (object: T) => string;
  /** Resource version of an object: a relist reports only objects whose version changed. */
  readonly versionOf: (object: T) => string;
  /** Called after the store has taken the change; `before` or `after` is absent for an add or a delete. */
  readonly onChange: (before: T | undefined, after: T | undefined) => void;
  readonly onError?: (error: Error) => void;
  readonly backoff?: Backoff;
}

export class Informer<T> {
  readonly store: Store<T>;
  private readonly options: InformerOptions<T>;

  constructor(options: InformerOptions<T>) {
    this.options = options;
    this.store = new Store<T>(options.keyOf);
  }

  /** Lists and watches until `signal` aborts. */
  run(signal: AbortSignal): Promise<void> {
    const { client, resource, shrink, onError, backoff } = this.options;
    const watcher = new Watcher<T>({
      client, resource, shrink,
      onEvent: (event) => { this.apply(event); },
      ...(onError ? { onError } : {}),
      ...(backoff ? { backoff } : {}),
    });
    return watcher.run(signal);
  }

  private apply(event: WatchEvent<T>): void {
    const { keyOf, versionOf, onChange } = this.options;
    switch (event.type) {
      case 'applied': {
        const before = this.store.get(keyOf(event.object));
        this.store.apply(event);
        onChange(before, event.object);
        break;
      }
      case 'deleted': {
        const before = this.store.get(keyOf(event.object)) ?? event.object;
        this.store.apply(event);
        onChange(before, undefined);
        break;
      }
      case 'restarted': {
        const changes = relistChanges(this.store.list(), event.objects, keyOf, versionOf);
        this.store.apply(event);
        for (const [before, after] of changes) onChange(before, after);
        break;
      }
    }
  }
}

/**
 * What a relist changed against the previous content, as (before, after) pairs: objects that
 * appeared, whose resourceVersion moved, or that disappeared. Unchanged objects are left out,
 * so that a relist after an outage wakes only what changed meanwhile.
 */
export function relistChanges<T>(
  previous: readonly T[], listed: readonly T[], keyOf: (object: T) => string, versionOf: (object: T) => string,
): Array<[T | undefined, T | undefined]> {
  const remaining = new Map(previous.map((o) => [keyOf(o), o]));
  const changes: Array<[T | undefined, T | undefined]> = [];
  for (const object of listed) {
    const before = remaining.get(keyOf(object));
    remaining.delete(keyOf(object));
    if (before === undefined || versionOf(before) !== versionOf(object)) changes.push([before, object]);
  }
  for (const gone of remaining.values()) changes.push([gone, undefined]);
  return changes;
}
