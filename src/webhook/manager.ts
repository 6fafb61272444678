/**
 * The leader's half of the webhook: keeps the CA and serving certificate in the Secret and
 * the MutatingWebhookConfiguration in step with them and with the ClusterDNS objects.
 *
 * One pass reads the Secret, plans the certificates (certificates.ts), writes the Secret if
 * the plan changed anything, and server-side applies the rendered configuration. A pass runs
 * when a ClusterDNS, the Secret or the configuration changes, when a certificate falls due,
 * and at least every `resyncMs` (repairing drift nobody told us about).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { FIELD_MANAGER, WEBHOOK_CONFIGURATION, WEBHOOK_SECRET } from '../api/names.ts';
import { Backoff } from '../kube/backoff.ts';
import { KubeApiError } from '../kube/client.ts';
import type { KubeClient } from '../kube/client.ts';
import type { Logger } from '../kube/log.ts';
import type { Store } from '../kube/store.ts';
import { planCertificates } from './certificates.ts';
import type { CertificateMaterial, CertificatePolicy, ServingNames } from './certificates.ts';
import { renderWebhookConfiguration } from './configuration.ts';
import type { WebhookEndpoint } from './configuration.ts';
import type { InstanceFacts } from './instances.ts';

export interface ManagerSettings {
  readonly client: KubeClient;
  readonly namespace: string;
  readonly endpoint: WebhookEndpoint;
  readonly names: ServingNames;
  readonly policy: CertificatePolicy;
  readonly protectedNamespaces: readonly string[];
  readonly instances: Store<InstanceFacts>;
  readonly resyncMs: number;
  readonly log: Logger;
  readonly clock: () => Date;
}

const WEBHOOK_CONFIGURATIONS = '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations';
const SECRET_KEYS = ['ca.crt', 'ca.key', 'tls.crt', 'tls.key', 'next-ca.crt', 'next-ca.key', 'previous-ca.crt'] as const;
/** Never loop faster than this, whatever falls due. */
const MIN_INTERVAL_MS = 500;

interface StoredSecret {
  readonly material: Partial<CertificateMaterial>;
  readonly resourceVersion: string;
}

/** Wakes a sleeping loop; wake-ups while it is busy are kept, not lost. */
export class Wakeup {
  private pending = false;
  private wake: (() => void) | undefined;

  notify(): void {
    this.pending = true;
    this.wake?.();
  }

  /** Resolves after `ms`, on `notify()`, or when `signal` aborts. */
  async wait(ms: number, signal: AbortSignal): Promise<void> {
    if (!this.pending) {
      const woken = new Promise<void>((resolve) => { this.wake = resolve; });
      await Promise.race([woken, sleep(ms, undefined, { signal }).catch(() => undefined)]);
      this.wake = undefined;
    }
    this.pending = false;
  }
}

export class WebhookManager {
  readonly wakeup = new Wakeup();
  private readonly settings: ManagerSettings;
  private readonly backoff = new Backoff();
  /** The next CA and since when the applied caBundle has held it. */
  private trustedNext: { readonly pem: string; readonly since: Date } | undefined;

  constructor(settings: ManagerSettings) {
    this.settings = settings;
  }

  /** Runs passes until `signal` aborts. Failures are logged and retried with backoff. */
  async run(signal: AbortSignal): Promise<void> {
    await Promise.race([this.settings.instances.waitForSync(), new Promise((resolve) => { signal.addEventListener('abort', resolve, { once: true }); })]);
    while (!signal.aborted) {
      let delay: number;
      try {
        const recheckAt = await this.pass();
        this.backoff.reset();
        delay = Math.min(recheckAt.getTime() - this.settings.clock().getTime(), this.settings.resyncMs);
      } catch (error) {
        delay = this.backoff.next();
        this.settings.log.error({ err: error, retryMs: delay }, 'webhook certificate or configuration pass failed');
      }
      await this.wakeup.wait(Math.max(delay, MIN_INTERVAL_MS), signal);
    }
  }

  /** One pass; returns when the certificates must be looked at again. */
  async pass(): Promise<Date> {
    const { client, namespace, log, clock } = this.settings;
    const now = clock();
    const stored = await this.readSecret();
    const nextPem = stored?.material['next-ca.crt'];
    const plan = planCertificates({
      current: stored?.material,
      now,
      names: this.settings.names,
      policy: this.settings.policy,
      nextTrustedSince: nextPem !== undefined && this.trustedNext?.pem === nextPem ? this.trustedNext.since : undefined,
    });
    if (plan.changes.length > 0) {
      await this.writeSecret(plan.material, stored?.resourceVersion);
      log.info({ secret: `${namespace}/${WEBHOOK_SECRET}`, changes: plan.changes }, 'webhook certificates updated');
    }
    const configuration = renderWebhookConfiguration({
      endpoint: this.settings.endpoint,
      caBundle: plan.caBundle,
      instances: this.settings.instances.list(),
      protectedNamespaces: this.settings.protectedNamespaces,
    });
    await client.request('PATCH', `${WEBHOOK_CONFIGURATIONS}/${WEBHOOK_CONFIGURATION}`, {
      body: configuration,
      contentType: 'application/apply-patch+yaml',
      query: { fieldManager: FIELD_MANAGER, force: true },
    });
    const next = plan.material['next-ca.crt'];
    this.trustedNext = next === undefined ? undefined : { pem: next, since: this.trustedNext?.pem === next ? this.trustedNext.since : clock() };
    return plan.recheckAt;
  }

  private async readSecret(): Promise<StoredSecret | undefined> {
    const { client, namespace } = this.settings;
    try {
      const secret = await client.request<{ data?: Record<string, string>; metadata: { resourceVersion: string } }>(
        'GET', `/api/v1/namespaces/${namespace}/secrets/${WEBHOOK_SECRET}`);
      const material: Record<string, string> = {};
      for (const [key, value] of Object.entries(secret.data ?? {})) material[key] = Buffer.from(value, 'base64').toString('utf8');
      return { material, resourceVersion: secret.metadata.resourceVersion };
    } catch (error) {
      if (error instanceof KubeApiError && error.status === 404) return undefined;
      throw error;
    }
  }

  /**
   * Server-side applies the Secret. An existing Secret is written only if it has not changed
   * since we read it (resourceVersion precondition): CA keys must never be overwritten blindly.
   */
  private async writeSecret(material: CertificateMaterial, resourceVersion: string | undefined): Promise<void> {
    const { client, namespace } = this.settings;
    const data: Record<string, string> = {};
    for (const key of SECRET_KEYS) {
      const value = material[key];
      if (value !== undefined) data[key] = Buffer.from(value).toString('base64');
    }
    await client.request('PATCH', `/api/v1/namespaces/${namespace}/secrets/${WEBHOOK_SECRET}`, {
      body: {
        apiVersion: 'v1',
        kind: 'Secret',
        type: 'kubernetes.io/tls',
        metadata: {
          name: WEBHOOK_SECRET,
          namespace,
          labels: { 'app.kubernetes.io/name': 'clusterdns', 'app.kubernetes.io/managed-by': FIELD_MANAGER },
          ...(resourceVersion ? { resourceVersion } : {}),
        },
        data,
      },
      contentType: 'application/apply-patch+yaml',
      query: { fieldManager: FIELD_MANAGER, force: true },
    });
  }
}
