/**
 * Which ClusterDNS keys an event concerns, and what the queue does with a reconcile's
 * outcome: pure functions, as controller-runtime's `handler` package and `reconcileHandler`.
 */
import { API_VERSION, KIND } from '../api/names.ts';

/** The keys an object maps to. */
export type KeyMapper<T> = (object: T) => readonly string[];

/**
 * The keys of a change: those of the old object and of the new one (an update that moves
 * a child to another owner concerns both owners). Either side may be absent (add, delete).
 */
export function keysOfChange<T>(map: KeyMapper<T>, before: T | undefined, after: T | undefined): string[] {
  const keys = new Set<string>();
  for (const object of [before, after]) {
    if (object !== undefined) for (const key of map(object)) keys.add(key);
  }
  return [...keys];
}

/** The parts of an object whose change asks for a reconcile. */
export interface ObjectMeta {
  readonly generation?: number;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly deletionTimestamp?: string;
}

/**
 * Whether an update of a ClusterDNS asks for a reconcile: not when only its status changed
 * (which is what the operator's own status writes do), as controller-runtime's
 * GenerationChangedPredicate combined with label and annotation changes. Adds and deletes
 * always do.
 */
export function specOrMetadataChanged(before: ObjectMeta | undefined, after: ObjectMeta | undefined): boolean {
  if (!before || !after) return true;
  return before.generation !== after.generation
    || before.deletionTimestamp !== after.deletionTimestamp
    || !sameMap(before.labels, after.labels)
    || !sameMap(before.annotations, after.annotations);
}

function sameMap(a: Readonly<Record<string, string>> = {}, b: Readonly<Record<string, string>> = {}): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => a[key] === b[key]);
}

export interface OwnerReference {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly name?: string;
  readonly controller?: boolean;
}

/** The names of the ClusterDNS objects that control a child (controller owner references only). */
export function controllingClusterDNS(owners: readonly OwnerReference[] | undefined): string[] {
  return (owners ?? [])
    .filter((o) => o.controller === true && o.kind === KIND && o.apiVersion?.split('/')[0] === API_VERSION.split('/')[0] && o.name)
    .map((o) => o.name ?? '');
}

/** What a reconcile returned or threw, as the queue needs to know it. */
export type ReconcileOutcome =
  | { readonly kind: 'success'; readonly requeueAfterMs?: number }
  | { readonly kind: 'error'; readonly error: Error };

/** The queue operations for an outcome (controller-runtime's reconcileHandler). */
export type QueueAction =
  | { readonly action: 'forget' }
  | { readonly action: 'requeueAfter'; readonly ms: number }
  | { readonly action: 'retry' };

/**
 * Errors the same input will always produce (a spec the schema refuses): retrying cannot
 * help, so the key waits for the next change of its object instead.
 */
export class TerminalError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'TerminalError';
  }
}

export function queueAction(outcome: ReconcileOutcome): QueueAction {
  if (outcome.kind === 'error') return outcome.error instanceof TerminalError ? { action: 'forget' } : { action: 'retry' };
  if (outcome.requeueAfterMs !== undefined && outcome.requeueAfterMs > 0) return { action: 'requeueAfter', ms: outcome.requeueAfterMs };
  return { action: 'forget' };
}

/** The `result` label of controller_runtime_reconcile_total for an outcome. */
export function resultLabel(outcome: ReconcileOutcome): 'success' | 'error' | 'requeue_after' {
  if (outcome.kind === 'error') return 'error';
  return outcome.requeueAfterMs ? 'requeue_after' : 'success';
}
