/**
 * The webhook's parts of the operator process, as two runnables:
 * - `webhook-server` (every replica): the HTTPS admission server. It serves the certificate
 *   in the Secret and swaps it when the Secret changes, without a restart.
 * - `webhook-certificates` (leader only): keeps the CA and serving certificate in the Secret
 *   and the MutatingWebhookConfiguration `clusterdns-injector` in step.
 */
import { WEBHOOK_CONFIGURATION, WEBHOOK_PATH, WEBHOOK_SERVICE } from '../api/names.ts';
import { createSecureContext } from 'node:tls';
import type { Registry } from 'prom-client';
import type { Runnable } from '../controller/runnable.ts';
import type { KubeClient } from '../kube/client.ts';
import type { Logger } from '../kube/log.ts';
import { Store } from '../kube/store.ts';
import { DEFAULT_CERTIFICATE_POLICY, servingNames } from './certificates.ts';
import type { CertificatePolicy } from './certificates.ts';
import type { WebhookEndpoint } from './configuration.ts';
import { instanceStore, instancesResource, lookupNamespace, namespaceFacts, secretCertificate, secretResource, watchInto } from './cache.ts';
import type { SecretCertificate } from './cache.ts';
import type { NamespaceFacts } from './decide.ts';
import { instanceFacts } from './instances.ts';
import { WebhookManager } from './manager.ts';
import { admissionMetrics, NO_METRICS } from './metrics.ts';
import { AdmissionServer, DEFAULT_SERVER_LIMITS } from './server.ts';
import type { ServerLimits } from './server.ts';

export interface WebhookOptions {
  readonly client: KubeClient;
  /** The operator's namespace: home of the Secret and Service, never mutated. */
  readonly namespace: string;
  /** Port of the HTTPS server (9443 in the operator). 0 picks a free one. */
  readonly port: number;
  /** Address to bind; default all interfaces. */
  readonly host?: string;
  /**
   * Where the apiserver calls the webhook, e.g. `https://127.0.0.1:9443/mutate-v1-pod`
   * (local mode, tests). Without it: the Service `clusterdns-webhook` in `namespace`.
   */
  readonly url?: string;
  readonly log: Logger;
  /** Certificate lifetimes; tests shorten them to see renewals. */
  readonly certificatePolicy?: CertificatePolicy;
  /** Longest time between two passes of the certificate manager; default 10 minutes. */
  readonly resyncMs?: number;
  /** Namespaces never mutated besides `namespace`; default ["kube-system"]. */
  readonly protectedNamespaces?: readonly string[];
  readonly clock?: () => Date;
  /** Where the webhook registers its metrics (the operator's :8080/metrics registry). */
  readonly registry?: Registry;
  /** Bounds of the HTTPS server; tests shorten the timeouts. Default DEFAULT_SERVER_LIMITS. */
  readonly serverLimits?: Partial<ServerLimits>;
}

export function webhookRunnables(options: WebhookOptions): Runnable[] {
  return [admissionServerRunnable(options), certificateManagerRunnable(options)];
}

export function protectedNamespaces(options: WebhookOptions): string[] {
  return [...new Set([options.namespace, ...(options.protectedNamespaces ?? ['kube-system'])])];
}

/** The HTTPS admission server; starts serving once the Secret holds a certificate. */
export function admissionServerRunnable(options: WebhookOptions): Runnable {
  const metrics = options.registry ? admissionMetrics(options.registry) : NO_METRICS;
  return {
    name: 'webhook-server',
    needLeaderElection: false,
    start: async (signal) => {
      const { client, log } = options;
      const instances = instanceStore();
      const namespaces = new Store<NamespaceFacts>((n) => n.name);
      const certificates = new Store<SecretCertificate>((s) => s.name);
      let server: AdmissionServer | undefined;
      let served = '';
      const certificateReady = Promise.withResolvers<undefined>();
      const onCertificate = (): void => {
        const current = certificates.list()[0];
        if (!current?.certificatePem || !current.privateKeyPem || current.certificatePem === served) return;
        try {
          // Refuses a certificate and key that do not make a TLS context, before anyone serves them.
          createSecureContext({ cert: current.certificatePem, key: current.privateKeyPem });
          server?.setCertificate(current);
          served = current.certificatePem;
          certificateReady.resolve(undefined);
        } catch (error) {
          log.error({ err: error }, 'the Secret holds a certificate that cannot be served; keeping the previous one');
        }
      };
      const watches = [
        watchInto(client, instancesResource, (raw) => instanceFacts(raw), instances, { signal, log }),
        watchInto(client, { path: '/api/v1/namespaces' }, namespaceFacts, namespaces, { signal, log }),
        watchInto(client, secretResource(options.namespace), secretCertificate, certificates, { signal, log, onChange: onCertificate }),
      ];
      const aborted = new Promise<void>((resolve) => { signal.addEventListener('abort', () => { resolve(); }, { once: true }); });
      await Promise.race([Promise.all([certificateReady.promise, instances.waitForSync(), namespaces.waitForSync()]), aborted]);
      if (!signal.aborted) {
        const first = certificates.list().find((c) => c.certificatePem === served);
        if (!first) throw new Error('the webhook Secret vanished before the server started');
        server = new AdmissionServer(first, () => ({
          instances: new Map(instances.list().map((i) => [i.name, i])),
          namespace: (name) => lookupNamespace(client, namespaces, name),
          protectedNamespaces: protectedNamespaces(options),
        }), log, metrics, { ...DEFAULT_SERVER_LIMITS, ...options.serverLimits });
        await server.listen(options.host ?? '0.0.0.0', options.port);
        log.info({ port: server.port, path: WEBHOOK_PATH }, 'webhook serving');
        await aborted;
        await server.close();
      }
      await Promise.all(watches);
    },
  };
}

/** Certificates and the MutatingWebhookConfiguration; the leader's job. */
export function certificateManagerRunnable(options: WebhookOptions): Runnable {
  return {
    name: 'webhook-certificates',
    needLeaderElection: true,
    start: async (signal) => {
      const { client, log } = options;
      const instances = instanceStore();
      const manager = new WebhookManager({
        client,
        namespace: options.namespace,
        endpoint: webhookEndpoint(options),
        names: servingNames(WEBHOOK_SERVICE, options.namespace, options.url),
        policy: options.certificatePolicy ?? DEFAULT_CERTIFICATE_POLICY,
        protectedNamespaces: protectedNamespaces(options),
        instances,
        resyncMs: options.resyncMs ?? 10 * 60 * 1000,
        log,
        clock: options.clock ?? (() => new Date()),
      });
      const wake = (): void => { manager.wakeup.notify(); };
      const watches = [
        watchInto(client, instancesResource, (raw) => instanceFacts(raw), instances, { signal, log, onChange: wake }),
        // Someone deleting or editing the Secret or the configuration is repaired at once.
        watchInto(client, secretResource(options.namespace), (raw) => raw.metadata?.resourceVersion ?? '', new Store<string>((v) => v), { signal, log, onChange: wake }),
        watchInto(client, configurationResource, (raw) => raw.metadata?.resourceVersion ?? '', new Store<string>((v) => v), { signal, log, onChange: wake }),
      ];
      await manager.run(signal);
      await Promise.all(watches);
    },
  };
}

const configurationResource = {
  path: '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations',
  fieldSelector: `metadata.name=${WEBHOOK_CONFIGURATION}`,
};

export function webhookEndpoint(options: WebhookOptions): WebhookEndpoint {
  if (options.url) return { url: options.url };
  return { service: { namespace: options.namespace, name: WEBHOOK_SERVICE, port: 443 } };
}
