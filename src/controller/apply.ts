/**
 * Server-side apply of the children, and the memory that lets reconcile skip an apply that
 * could not change anything: an idle operator sends the apiserver no writes at all.
 *
 * After each apply the operator remembers, per child, the hash of what it sent and the
 * uid, resourceVersion and generation the apiserver answered with. The next reconcile skips
 * the child while the desired hash is the same and the cached object is still the one it
 * left: same resourceVersion, or (for kinds with a generation, whose status others write)
 * same generation with its labels, annotations and owner intact. Anything else, a hand edit,
 * a deletion, a restart of the operator that emptied the memory, is applied again.
 */
import { KubeApiError } from '../kube/client.ts';
import type { KubeClient } from '../kube/client.ts';
import type { RawObject } from '../kube/watcher.ts';
import { childPath, shrinkChild } from './children.ts';
import type { Child, ChildKind } from './children.ts';
import type { Manifest } from './render.ts';

/** What the operator remembers of its last apply of a child. */
export interface AppliedRecord {
  readonly hash: string;
  readonly uid: string;
  readonly resourceVersion: string;
  readonly generation?: number;
}

/** True when applying `desired` (whose hash is `hash`) again cannot change `live`. */
export function isUpToDate(record: AppliedRecord | undefined, hash: string, live: Child | undefined, desired: Manifest): boolean {
  if (!record || !live || record.hash !== hash || record.uid !== live.uid) return false;
  if (live.resourceVersion === record.resourceVersion) return true;
  return live.generation !== undefined && live.generation === record.generation && metadataHolds(live, desired);
}

function metadataHolds(live: Child, desired: Manifest): boolean {
  const contains = (have: Readonly<Record<string, string>>, want: Readonly<Record<string, string>> = {}): boolean =>
    Object.entries(want).every(([key, value]) => have[key] === value);
  return contains(live.labels, desired.metadata.labels)
    && contains(live.annotations, desired.metadata.annotations)
    && live.owners.includes(desired.metadata.name);
}

/** Counts the writes the operator sends (for its metrics and the idle-writes benchmark). */
export type WriteObserver = (verb: 'apply' | 'delete' | 'create' | 'patch', resource: string) => void;

export class Applier {
  private readonly client: KubeClient;
  private readonly fieldManager: string;
  private readonly onWrite: WriteObserver;

  constructor(client: KubeClient, fieldManager: string, onWrite: WriteObserver = () => undefined) {
    this.client = client;
    this.fieldManager = fieldManager;
    this.onWrite = onWrite;
  }

  /** Server-side applies `manifest` (forcing ownership of its fields) and returns the result. */
  async apply(manifest: Manifest): Promise<Child> {
    this.onWrite('apply', manifest.kind);
    const path = childPath(manifest.kind, manifest.metadata.namespace, manifest.metadata.name);
    const result = await this.client.request<RawObject>('PATCH', path, {
      body: JSON.stringify(manifest),
      contentType: 'application/apply-patch+yaml',
      query: { fieldManager: this.fieldManager, force: true },
    });
    return shrinkChild(manifest.kind)(result);
  }

  /** Deletes the child with this uid (not a successor of the same name); gone already is fine. */
  async delete(kind: ChildKind, namespace: string, name: string, uid: string): Promise<void> {
    this.onWrite('delete', kind);
    await this.deleteAt(childPath(kind, namespace, name), { apiVersion: 'v1', kind: 'DeleteOptions', preconditions: { uid }, propagationPolicy: 'Background' });
  }

  /**
   * Deletes the legacy Endpoints of a Service whose selector routing dropped: kube-controller-manager
   * leaves it behind, and when it lacks the skip-mirror label its EndpointSlice mirroring
   * controller copies the instance's old endpoints from it into a slice. Gone already is fine.
   */
  async deleteEndpoints(namespace: string, name: string): Promise<void> {
    this.onWrite('delete', 'Endpoints');
    await this.deleteAt(`/api/v1/namespaces/${namespace}/endpoints/${name}`);
  }

  /** A DELETE for which gone already (404) or replaced meanwhile (409, a failed uid precondition) is fine. */
  private async deleteAt(path: string, body?: object): Promise<void> {
    try {
      await this.client.request('DELETE', path, body ? { body } : {});
    } catch (error) {
      if (error instanceof KubeApiError && (error.status === 404 || error.status === 409)) return;
      throw error;
    }
  }
}

/**
 * True for an answer that says the object itself is refused (invalid, forbidden, a taken
 * clusterIP), which a person must act on; false for the apiserver being unreachable or
 * overloaded, which a retry fixes.
 */
export function isRefusal(error: unknown): error is KubeApiError {
  return error instanceof KubeApiError && error.status >= 400 && error.status < 500 && error.status !== 409 && error.status !== 429;
}

/** The apiserver's own words, without the request line our client puts in front. */
export function apiserverMessage(error: KubeApiError): string {
  const body = error.body as { message?: unknown } | undefined;
  return typeof body?.message === 'string' ? body.message : error.message;
}
