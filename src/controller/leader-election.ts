/**
 * Leader election on a coordination.k8s.io Lease, as client-go's leaderelection with
 * controller-runtime's timings: a replica takes the Lease when it is free or its holder has
 * not renewed it for a lease duration (measured on this replica's own clock, from when it
 * last saw the Lease change, so that clocks need not agree); the leader renews every retry
 * period and gives up when it could not renew for the renew deadline. Writes use the Lease's
 * resourceVersion, so two replicas can never both win one round.
 */
import { KubeApiError } from '../kube/client.ts';
import type { KubeClient } from '../kube/client.ts';
import type { Logger } from '../kube/log.ts';
import { sleep } from './clock.ts';
import type { Clock } from './clock.ts';
import type { Elector } from './manager.ts';

export interface LeaderElectionTimings {
  readonly leaseDurationMs: number;
  readonly renewDeadlineMs: number;
  readonly retryPeriodMs: number;
}

/** controller-runtime's defaults. */
export const CONTROLLER_RUNTIME_TIMINGS: LeaderElectionTimings = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };

/** The Lease the operator replicas compete for (config/rbac grants exactly this name). */
export const LEASE_NAME = 'clusterdns-operator';

/** coordination.k8s.io/v1 LeaseSpec. */
export interface LeaseSpec {
  readonly holderIdentity?: string;
  readonly leaseDurationSeconds?: number;
  readonly acquireTime?: string;
  readonly renewTime?: string;
  readonly leaseTransitions?: number;
}

export type LeaseDecision = { readonly take: false } | { readonly take: true; readonly spec: LeaseSpec };

/**
 * Whether `identity` may take or renew the Lease now, and the spec to write if so. Pure.
 * `observedAtMs` is when this replica last saw `current` change.
 */
export function decideLease(current: LeaseSpec | undefined, observedAtMs: number, nowMs: number, identity: string, leaseDurationMs: number): LeaseDecision {
  const now = microTime(nowMs);
  const leaseDurationSeconds = Math.round(leaseDurationMs / 1000);
  if (!current) return { take: true, spec: { holderIdentity: identity, leaseDurationSeconds, acquireTime: now, renewTime: now, leaseTransitions: 0 } };
  const holder = current.holderIdentity ?? '';
  const heldFor = (current.leaseDurationSeconds ?? leaseDurationSeconds) * 1000;
  if (holder !== '' && holder !== identity && observedAtMs + heldFor > nowMs) return { take: false };
  const renewing = holder === identity;
  return {
    take: true,
    spec: {
      holderIdentity: identity,
      leaseDurationSeconds,
      acquireTime: renewing ? current.acquireTime ?? now : now,
      renewTime: now,
      leaseTransitions: (current.leaseTransitions ?? 0) + (renewing ? 0 : 1),
    },
  };
}

/**
 * How long a replica that does not lead waits before it asks again: the retry period
 * stretched by up to a fifth (client-go's jitter factor of 1.2), so that replicas do not
 * ask in lockstep.
 */
export function retryDelayMs(retryPeriodMs: number, random: () => number): number {
  return retryPeriodMs * (1 + 0.2 * random());
}

/** metav1.MicroTime: RFC 3339 with microseconds. */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

interface Lease {
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec?: LeaseSpec;
}

export interface LeaseElectorOptions {
  readonly client: KubeClient;
  readonly namespace: string;
  readonly name?: string;
  /** Unique per replica: host name and a random suffix. */
  readonly identity: string;
  readonly timings?: LeaderElectionTimings;
  readonly clock: Clock;
  /** The jitter of the retries; default Math.random. */
  readonly random?: () => number;
  readonly log: Logger;
}

export class LeaseElector implements Elector {
  readonly identity: string;
  private readonly options: LeaseElectorOptions;
  private readonly timings: LeaderElectionTimings;
  private observed: { spec: string; atMs: number } | undefined;

  constructor(options: LeaseElectorOptions) {
    this.options = options;
    this.identity = options.identity;
    this.timings = options.timings ?? CONTROLLER_RUNTIME_TIMINGS;
  }

  private get path(): string {
    return `/apis/coordination.k8s.io/v1/namespaces/${this.options.namespace}/leases/${this.options.name ?? LEASE_NAME}`;
  }

  async acquire(signal: AbortSignal): Promise<boolean> {
    const { log, clock } = this.options;
    log.info({ lease: `${this.options.namespace}/${this.options.name ?? LEASE_NAME}`, identity: this.identity }, 'waiting to lead');
    while (!signal.aborted) {
      if (await this.tryAcquireOrRenew()) return true;
      await sleep(clock, retryDelayMs(this.timings.retryPeriodMs, this.options.random ?? Math.random), signal);
    }
    return false;
  }

  async keepLeading(signal: AbortSignal): Promise<void> {
    const { clock, log } = this.options;
    let renewedAt = clock.now();
    while (!signal.aborted) {
      await sleep(clock, this.timings.retryPeriodMs, signal);
      // The sleep ends early on abort; a renewal then is not wanted.
      if (signal.aborted as boolean) return;
      if (await this.tryAcquireOrRenew()) renewedAt = clock.now();
      else if (clock.now() - renewedAt >= this.timings.renewDeadlineMs) {
        log.error({ identity: this.identity, lastRenewMsAgo: clock.now() - renewedAt }, 'could not renew the Lease within the renew deadline; leadership lost');
        return;
      }
    }
  }

  /** Hands the Lease over at once (on a clean shutdown), so that the next leader need not wait a lease duration. */
  async release(): Promise<void> {
    const { client, clock, log } = this.options;
    try {
      const lease = await client.request<Lease>('GET', this.path, { timeoutMs: 5000 });
      if (lease.spec?.holderIdentity !== this.identity) return;
      const now = microTime(clock.now());
      const spec: LeaseSpec = { holderIdentity: '', leaseDurationSeconds: 1, acquireTime: now, renewTime: now, leaseTransitions: lease.spec.leaseTransitions ?? 0 };
      await client.request('PUT', this.path, { body: { ...lease, spec }, timeoutMs: 5000 });
      log.info({ identity: this.identity }, 'released the Lease');
    } catch (error) {
      log.warn({ err: error instanceof Error ? error.message : String(error) }, 'could not release the Lease');
    }
  }

  /** One round: read the Lease, and write it if this replica may hold it. Never throws. */
  private async tryAcquireOrRenew(): Promise<boolean> {
    const { client, clock, log, namespace } = this.options;
    const name = this.options.name ?? LEASE_NAME;
    const timeoutMs = Math.min(5000, this.timings.renewDeadlineMs / 2);
    try {
      let lease: Lease | undefined;
      try {
        lease = await client.request<Lease>('GET', this.path, { timeoutMs });
      } catch (error) {
        if (!(error instanceof KubeApiError && error.status === 404)) throw error;
      }
      const spec = lease?.spec;
      const specJson = JSON.stringify(spec ?? null);
      if (this.observed?.spec !== specJson) this.observed = { spec: specJson, atMs: clock.now() };
      const decision = decideLease(spec, this.observed.atMs, clock.now(), this.identity, this.timings.leaseDurationMs);
      if (!decision.take) return false;
      const body = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { ...(lease?.metadata ?? { name, namespace }) }, spec: decision.spec };
      await (lease
        ? client.request('PUT', this.path, { body, timeoutMs })
        : client.request('POST', `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases`, { body, timeoutMs }));
      this.observed = { spec: JSON.stringify(decision.spec), atMs: clock.now() };
      return true;
    } catch (error) {
      // A conflict means another replica wrote first; anything else is an outage. Both: try again next round.
      log.debug({ err: error instanceof Error ? error.message : String(error) }, 'Lease round failed');
      return false;
    }
  }
}
