/**
 * The MutatingWebhookConfiguration `clusterdns-injector`: a pure render of the ClusterDNS
 * objects, the caBundle and where the webhook is served.
 *
 * The selectors are a filter in front of the webhook, so that pods that cannot be opted in
 * never wait for it. They mirror the precedence of `decide()`, which remains the authority:
 * - `pod.injector.clusterdns.io`: pods with their own `clusterdns.io/instance` label (not `none`);
 * - `namespace.injector.clusterdns.io`: pods without it in namespaces with that label (not `none`);
 * - `<name>.instance.injector.clusterdns.io`, one per ClusterDNS with injection selectors:
 *   pods without the label matching `podSelector`, in unlabelled namespaces matching
 *   `namespaceSelector`.
 * Every entry excludes the protected namespaces (the operator's own and kube-system).
 */
import { FIELD_MANAGER, INSTANCE_LABEL, OPT_OUT, WEBHOOK_CONFIGURATION, WEBHOOK_PATH } from '../api/names.ts';
import type { LabelSelector } from '../api/selectors.ts';

type Requirement = NonNullable<LabelSelector['matchExpressions']>[number];
import type { InstanceFacts } from './instances.ts';
import { selectsBySelectors } from './instances.ts';

/** Where the apiserver sends admission reviews: a URL (local mode, tests) or the Service. */
export type WebhookEndpoint =
  | { readonly url: string }
  | { readonly service: { readonly namespace: string; readonly name: string; readonly port: number } };

export interface ConfigurationInput {
  readonly endpoint: WebhookEndpoint;
  /** PEM of every CA the apiserver must trust. */
  readonly caBundle: string;
  readonly instances: readonly InstanceFacts[];
  readonly protectedNamespaces: readonly string[];
}

/** Seconds the apiserver waits before it admits the pod untouched (failurePolicy Ignore). */
export const TIMEOUT_SECONDS = 5;
const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

const labelled: Requirement[] = [
  { key: INSTANCE_LABEL, operator: 'Exists' },
  { key: INSTANCE_LABEL, operator: 'NotIn', values: [OPT_OUT] },
];
const unlabelled: Requirement[] = [{ key: INSTANCE_LABEL, operator: 'DoesNotExist' }];

export function renderWebhookConfiguration(input: ConfigurationInput): Record<string, unknown> {
  const notProtected: Requirement = { key: NAMESPACE_NAME_LABEL, operator: 'NotIn', values: [...new Set(input.protectedNamespaces)].sort() };
  const webhook = (name: string, namespaceSelector: LabelSelector, objectSelector: LabelSelector): Record<string, unknown> => ({
    name,
    admissionReviewVersions: ['v1'],
    clientConfig: clientConfig(input.endpoint, input.caBundle),
    rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], scope: 'Namespaced' }],
    failurePolicy: 'Ignore',
    matchPolicy: 'Equivalent',
    sideEffects: 'None',
    timeoutSeconds: TIMEOUT_SECONDS,
    reinvocationPolicy: 'IfNeeded',
    namespaceSelector,
    objectSelector,
  });
  const instances = input.instances
    .filter((i) => i.invalid === undefined && !i.deleting && selectsBySelectors(i.injection))
    .sort((a, b) => a.name.localeCompare(b.name));
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'MutatingWebhookConfiguration',
    metadata: { name: WEBHOOK_CONFIGURATION, labels: { 'app.kubernetes.io/name': 'clusterdns', 'app.kubernetes.io/managed-by': FIELD_MANAGER } },
    webhooks: [
      webhook('pod.injector.clusterdns.io', { matchExpressions: [notProtected] }, { matchExpressions: labelled }),
      webhook('namespace.injector.clusterdns.io', { matchExpressions: [notProtected, ...labelled] }, { matchExpressions: unlabelled }),
      ...instances.map((instance) => webhook(
        `${instance.name}.instance.injector.clusterdns.io`,
        withTerms(instance.injection.namespaceSelector, [notProtected, ...unlabelled]),
        withTerms(instance.injection.podSelector, unlabelled),
      )),
    ],
  };
}

function clientConfig(endpoint: WebhookEndpoint, caBundle: string): Record<string, unknown> {
  const bundle = Buffer.from(caBundle).toString('base64');
  if ('url' in endpoint) return { url: endpoint.url, caBundle: bundle };
  return { service: { ...endpoint.service, path: WEBHOOK_PATH }, caBundle: bundle };
}

function withTerms(selector: LabelSelector | undefined, extra: readonly Requirement[]): LabelSelector {
  return {
    ...(selector?.matchLabels && Object.keys(selector.matchLabels).length > 0 ? { matchLabels: selector.matchLabels } : {}),
    matchExpressions: [...(selector?.matchExpressions ?? []), ...extra],
  };
}
