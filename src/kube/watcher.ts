/**
 * List-then-watch of one resource, as a state machine.
 *
 * `step(state, input)` is pure: it says what to emit and what to do next. `Watcher.run()`
 * is the thin loop that performs list and watch requests and feeds their results back in.
 * Every way a watch can end (the server closing it, an idle timeout, a refused connection
 * while the apiserver restarts, `410 Gone` when our resourceVersion is too old) is an input
 * with a defined next state, so the watch never dies silently: it either resumes from the
 * last resourceVersion or lists afresh, and a fresh list is emitted whole (`restarted`) so
 * that a store can swap it in atomically.
 *
 * resourceVersion is an opaque string: it is only ever passed back to the apiserver.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Backoff, DEFAULT_BACKOFF } from './backoff.ts';
import { KubeApiError } from './client.ts';
import type { KubeClient } from './client.ts';

/** What a watcher tells its consumer; a relist's objects come as its gatherer gathered them (by default an array). */
export type WatchEvent<T, L = readonly T[]> =
  | { readonly type: 'restarted'; readonly objects: L }
  | { readonly type: 'applied'; readonly object: T }
  | { readonly type: 'deleted'; readonly object: T };

export type WatcherState =
  | { readonly phase: 'listing' }
  | { readonly phase: 'watching'; readonly resourceVersion: string };

/** What the loop observed. Objects are already shrunk. */
export type WatcherInput<T, L = readonly T[]> =
  | { readonly kind: 'listed'; readonly objects: L; readonly resourceVersion: string }
  | { readonly kind: 'event'; readonly type: 'ADDED' | 'MODIFIED' | 'DELETED'; readonly object: T; readonly resourceVersion: string }
  | { readonly kind: 'bookmark'; readonly resourceVersion: string }
  /** The server ended the watch normally, or it was idle too long: resume where we were. */
  | { readonly kind: 'watchEnded' }
  /** `410 Gone` / `Expired`, as an HTTP status or as an ERROR event: our version is too old. */
  | { readonly kind: 'gone' }
  /** Anything else that went wrong: retry the same step after a backoff. */
  | { readonly kind: 'failed'; readonly error: Error };

export interface Step<T, L = readonly T[]> {
  readonly next: WatcherState;
  readonly emit?: WatchEvent<T, L>;
  /** Wait for the backoff before the next request. */
  readonly backoff: boolean;
}

/** The transition function of the watcher. */
export function step<T, L = readonly T[]>(state: WatcherState, input: WatcherInput<T, L>): Step<T, L> {
  switch (input.kind) {
    case 'listed':
      return { next: { phase: 'watching', resourceVersion: input.resourceVersion }, emit: { type: 'restarted', objects: input.objects }, backoff: false };
    case 'event':
      return {
        next: { phase: 'watching', resourceVersion: input.resourceVersion },
        emit: input.type === 'DELETED' ? { type: 'deleted', object: input.object } : { type: 'applied', object: input.object },
        backoff: false,
      };
    case 'bookmark':
      return { next: { phase: 'watching', resourceVersion: input.resourceVersion }, backoff: false };
    case 'watchEnded':
      return { next: state, backoff: false };
    case 'gone':
      return { next: { phase: 'listing' }, backoff: false };
    case 'failed':
      return { next: state, backoff: true };
  }
}

export interface ResourceRef {
  /** Collection path, e.g. `/api/v1/services` or `/apis/discovery.k8s.io/v1/endpointslices`. */
  readonly path: string;
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
}

/**
 * Gathers a list's objects as its pages arrive. By default into an array; a consumer that
 * stores a list in another form (the resolver's shared tables) builds it page by page, so
 * that a large list never lives in memory twice.
 */
export interface ListGatherer<T, L> {
  add(object: T): void;
  done(): L;
}

function arrayGatherer<T>(): ListGatherer<T, readonly T[]> {
  const objects: T[] = [];
  return { add: (object) => { objects.push(object); }, done: () => objects };
}

export interface WatcherOptions<T, L = readonly T[]> {
  readonly client: KubeClient;
  readonly resource: ResourceRef;
  /** Copies only what the consumer needs out of a raw object, the moment it arrives. */
  readonly shrink: (raw: RawObject) => T;
  readonly onEvent: (event: WatchEvent<T, L>) => void;
  /** A fresh gatherer for each list (needed unless L is the default array). */
  readonly gather?: () => ListGatherer<T, L>;
  /** Told about every failure (for logs and metrics); the watcher retries by itself. */
  readonly onError?: (error: Error) => void;
  readonly backoff?: Backoff;
  /** Page size of lists; 500 as client-go. */
  readonly pageSize?: number;
  /** Spreads the watches' server-side timeouts (tests pass a fixed one); default Math.random. */
  readonly random?: () => number;
  /** Milliseconds since the epoch; default Date.now. */
  readonly now?: () => number;
}

export interface RawObject {
  readonly metadata?: { readonly resourceVersion?: string; readonly name?: string; readonly namespace?: string };
  readonly [key: string]: unknown;
}

interface RawList {
  readonly metadata?: { readonly resourceVersion?: string; readonly continue?: string };
  readonly items?: RawObject[];
}

interface RawWatchEvent {
  readonly type?: string;
  readonly object?: RawObject & { readonly code?: number; readonly reason?: string; readonly message?: string };
}

/** How long a watch may stay silent before we reconnect (bookmarks arrive about every minute). */
const IDLE_TIMEOUT_MS = 90_000;

/**
 * The `timeoutSeconds` of one watch request: 5 to 10 minutes as client-go chooses it, so that
 * the watches of many clients do not all end, and reconnect, at the same moment.
 */
export function watchTimeoutSeconds(random: () => number): number {
  return 300 + Math.floor(random() * 300);
}

/** Runs list-and-watch until `signal` aborts. Nothing starts before `run()` is called. */
export class Watcher<T, L = readonly T[]> {
  private readonly options: WatcherOptions<T, L>;
  private readonly backoff: Backoff;
  private readonly random: () => number;
  private readonly now: () => number;
  private state: WatcherState = { phase: 'listing' };

  constructor(options: WatcherOptions<T, L>) {
    this.options = options;
    this.random = options.random ?? Math.random;
    this.now = options.now ?? Date.now;
    this.backoff = options.backoff ?? new Backoff(DEFAULT_BACKOFF, this.random);
  }

  async run(signal: AbortSignal): Promise<void> {
    this.state = { phase: 'listing' };
    while (!signal.aborted) {
      const state = this.state as WatcherState; // feed() changes it between iterations
      const input = state.phase === 'listing' ? await this.list() : await this.watch(state.resourceVersion, signal);
      // Aborting cuts the request short; what it returned then is not news.
      if (signal.aborted as boolean) return;
      if (this.feed(input)) await sleep(this.backoff.next(), undefined, { signal }).catch(() => undefined);
    }
  }

  /** Applies one input; returns true when the loop must back off before its next request. */
  private feed(input: WatcherInput<T, L>): boolean {
    if (input.kind === 'failed') this.options.onError?.(input.error);
    const result = step(this.state, input);
    this.state = result.next;
    if (result.emit) this.options.onEvent(result.emit);
    if (input.kind === 'listed' || input.kind === 'event') this.backoff.reset();
    return result.backoff;
  }

  /** Lists every page; a list is one input, so a consumer never sees half of one. */
  private async list(): Promise<WatcherInput<T, L>> {
    const { client, resource, shrink, pageSize = 500 } = this.options;
    const gatherer = this.options.gather?.() ?? (arrayGatherer<T>() as unknown as ListGatherer<T, L>);
    let continueToken: string | undefined;
    try {
      for (;;) {
        const page = await client.request<RawList>('GET', resource.path, {
          query: { limit: pageSize, continue: continueToken, labelSelector: resource.labelSelector, fieldSelector: resource.fieldSelector },
        });
        for (const item of page.items ?? []) gatherer.add(shrink(item));
        continueToken = page.metadata?.continue || undefined;
        if (!continueToken) return { kind: 'listed', objects: gatherer.done(), resourceVersion: page.metadata?.resourceVersion ?? '' };
      }
    } catch (error) {
      // An expired continue token is a failure like any other: the next attempt lists afresh.
      return { kind: 'failed', error: asError(error) };
    }
  }

  /**
   * One watch request. Events and bookmarks are fed in as they arrive, so a consumer sees a
   * change at once; the input returned says how the watch ended.
   */
  private async watch(resourceVersion: string, signal: AbortSignal): Promise<WatcherInput<T, L>> {
    const { client, resource, shrink } = this.options;
    const began = this.now();
    let delivered = 0;
    let ending: WatcherInput<T, L> | undefined;
    try {
      await client.stream(resource.path, (line) => {
        if (ending) return;
        const input = parseWatchLine<T, L>(line, shrink);
        if (input?.kind === 'gone' || input?.kind === 'failed') ending = input;
        else if (input) {
          delivered++;
          this.feed(input);
        }
      }, {
        idleTimeoutMs: IDLE_TIMEOUT_MS,
        signal,
        query: {
          watch: 1,
          resourceVersion,
          allowWatchBookmarks: true,
          timeoutSeconds: watchTimeoutSeconds(this.random),
          labelSelector: resource.labelSelector,
          fieldSelector: resource.fieldSelector,
        },
      });
    } catch (error) {
      if (error instanceof KubeApiError && error.status === 410) return { kind: 'gone' };
      return { kind: 'failed', error: asError(error) };
    }
    if (ending) return ending;
    // A server that closes every watch at once would otherwise be asked again without pause.
    if (delivered === 0 && this.now() - began < 1000) return { kind: 'failed', error: new Error(`watch of ${resource.path} closed at once`) };
    return { kind: 'watchEnded' };
  }
}

/** Parses one line of a watch stream into an input; undefined for lines to ignore. */
export function parseWatchLine<T, L = readonly T[]>(line: string, shrink: (raw: RawObject) => T): WatcherInput<T, L> | undefined {
  let event: RawWatchEvent;
  try {
    event = JSON.parse(line) as RawWatchEvent;
  } catch {
    return { kind: 'failed', error: new Error(`unparseable watch event: ${line.slice(0, 200)}`) };
  }
  const object = event.object;
  if (!object) return undefined;
  const resourceVersion = object.metadata?.resourceVersion ?? '';
  switch (event.type) {
    case 'ADDED':
    case 'MODIFIED':
    case 'DELETED':
      return { kind: 'event', type: event.type, object: shrink(object), resourceVersion };
    case 'BOOKMARK':
      return { kind: 'bookmark', resourceVersion };
    case 'ERROR':
      if (object.code === 410 || object.reason === 'Expired' || object.reason === 'Gone') return { kind: 'gone' };
      return { kind: 'failed', error: new Error(`watch error: ${object.code ?? ''} ${object.message ?? object.reason ?? ''}`) };
    default:
      return undefined;
  }
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
