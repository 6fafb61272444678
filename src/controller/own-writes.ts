/**
 * The operator's memory of its own writes to ClusterDNS objects (status, finalizer), for the
 * moment until its cache has caught up with them.
 *
 * A reconcile that runs right after another (a pod became ready a few milliseconds after the
 * last switch) may find the cache still at the version before that reconcile's writes; taken
 * as it is, the old status would make it write the same status again and record the same
 * Event twice, and a finalizer patch would fail its version precondition. So after each
 * write the object as the apiserver answered is kept, with the versions it replaced; while
 * the cache shows one of those, reconcile works on the kept object instead.
 */

/** What is kept of a ClusterDNS: at least its name and resourceVersion. */
export interface Versioned {
  readonly metadata: { readonly name: string; readonly resourceVersion?: string };
}

interface Kept<T> {
  /** Versions older than `latest`: a cache that shows one of them has not seen our writes. */
  readonly replaced: Set<string>;
  readonly latest: T;
}

export class OwnWrites<T extends Versioned> {
  private readonly kept = new Map<string, Kept<T>>();

  /** `cached`, or what our own later writes made of it. */
  freshest(cached: T): T {
    const kept = this.kept.get(cached.metadata.name);
    if (!kept) return cached;
    if (kept.replaced.has(cached.metadata.resourceVersion ?? '')) return kept.latest;
    // The cache has caught up with our writes, or moved past them.
    this.kept.delete(cached.metadata.name);
    return cached;
  }

  /** Notes that a write to `basis` (what reconcile worked on) was answered with `result`. */
  wrote(basis: T, result: T): void {
    const name = basis.metadata.name;
    const kept = this.kept.get(name);
    const replaced = kept && kept.latest.metadata.resourceVersion === basis.metadata.resourceVersion ? kept.replaced : new Set<string>();
    replaced.add(basis.metadata.resourceVersion ?? '');
    this.kept.set(name, { replaced, latest: result });
  }

  forget(name: string): void {
    this.kept.delete(name);
  }
}
