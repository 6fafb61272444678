/**
 * Kubernetes Events about the objects the operator manages (`kubectl describe cdns NAME`
 * shows them). As client-go's recorder, recording never blocks the caller: events are sent
 * in the background, a few at a time, from a bounded buffer; a failure is logged, and when
 * the buffer is full new events are dropped rather than slowing reconciles down.
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
/** client-go's recorder buffers 1000 events. */
const MAX_PENDING = 1000;
const CONCURRENT_SENDS = 4;

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
  private readonly pending: Array<{ readonly namespace: string; readonly event: object; readonly reason: string }> = [];
  private sending = 0;

  constructor(options: EventRecorderOptions) {
    this.options = options;
  }

  /** Queues an event; returns at once. */
  record(subject: EventSubject, type: EventType, reason: string, message: string): void {
    const { component, instance, clock, log } = this.options;
    if (this.pending.length >= MAX_PENDING) {
      log.warn({ reason, object: subject.name }, 'event buffer full; dropping an event');
      return;
    }
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
    this.pending.push({ namespace, event, reason });
    this.pump();
  }

  /** Events queued or being sent. */
  get backlog(): number {
    return this.pending.length + this.sending;
  }

  private pump(): void {
    while (this.sending < CONCURRENT_SENDS) {
      const next = this.pending.shift();
      if (!next) return;
      this.sending++;
      void this.send(next.namespace, next.event, next.reason).finally(() => {
        this.sending--;
        this.pump();
      });
    }
  }

  private async send(namespace: string, event: object, reason: string): Promise<void> {
    const { client, log, onWrite } = this.options;
    try {
      onWrite?.();
      await client.request('POST', `/api/v1/namespaces/${namespace}/events`, { body: event });
    } catch (error) {
      log.warn({ err: error instanceof Error ? error.message : String(error), reason }, 'could not record an event');
    }
  }
}
