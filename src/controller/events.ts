/**
 * Kubernetes Events about the objects the operator manages (`kubectl describe cdns NAME`
 * shows them). Recording is best effort: a failure is logged, never allowed to fail a
 * reconcile.
 */
import { randomBytes } from 'node:crypto';
import type { KubeClient } from '../kube/client.ts';
import type { Logger } from '../kube/log.ts';
import type { Clock } from './clock.ts';

export interface EventSubject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly uid: string;
  /** Absent for a cluster-scoped object. */
  readonly namespace?: string;
}

export type EventType = 'Normal' | 'Warning';

/** The apiserver keeps at most this much of a message. */
const MAX_MESSAGE = 1024;

export interface EventRecorderOptions {
  readonly client: KubeClient;
  /** source.component and reportingComponent, e.g. clusterdns-operator. */
  readonly component: string;
  /** reportingInstance: which replica recorded it. */
  readonly instance: string;
  readonly clock: Clock;
  readonly log: Logger;
  /** Called for each event written (for metrics). */
  readonly onWrite?: () => void;
}

export class EventRecorder {
  private readonly options: EventRecorderOptions;

  constructor(options: EventRecorderOptions) {
    this.options = options;
  }

  async record(subject: EventSubject, type: EventType, reason: string, message: string): Promise<void> {
    const { client, component, instance, clock, log, onWrite } = this.options;
    // Events about cluster-scoped objects must live in "default" (apiserver validation).
    const namespace = subject.namespace ?? 'default';
    const now = new Date(clock.now()).toISOString().replace(/\.\d+Z$/, 'Z');
    const event = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: `${subject.name}.${clock.now().toString(16)}${randomBytes(3).toString('hex')}`, namespace },
      involvedObject: {
        apiVersion: subject.apiVersion, kind: subject.kind, name: subject.name, uid: subject.uid,
        ...(subject.namespace ? { namespace: subject.namespace } : {}),
      },
      type,
      reason,
      message: message.length > MAX_MESSAGE ? `${message.slice(0, MAX_MESSAGE - 3)}...` : message,
      source: { component },
      reportingComponent: component,
      reportingInstance: instance,
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
    };
    try {
      onWrite?.();
      await client.request('POST', `/api/v1/namespaces/${namespace}/events`, { body: event });
    } catch (error) {
      log.warn({ err: error, reason, object: subject.name }, 'could not record an event');
    }
  }
}
