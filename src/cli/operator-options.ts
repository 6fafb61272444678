/**
 * The flags of `clusterdns operator`, parsed and validated once. Boolean flags accept Go's
 * spellings too (`--leader-elect`, `--leader-elect=true`, `--webhook=false`), as the flags
 * of kube-controller-manager and controller-runtime operators do.
 */
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { DEFAULT_COREDNS_IMAGE_REPOSITORY, DEFAULT_IMAGE_REPOSITORY, DEFAULT_NAMESPACE, WEBHOOK_PORT } from '../api/names.ts';
import { DNS1123_LABEL } from '../api/clusterdns.ts';
import { parseDuration } from '../api/duration.ts';
import { LOG_LEVELS } from '../kube/log.ts';
import { parseListenAddress } from '../controller/endpoints.ts';
import type { ListenAddress } from '../controller/endpoints.ts';

export const OPERATOR_USAGE = `usage: clusterdns operator [flags]

Runs the ClusterDNS controller (and the injection webhook) against a cluster.

flags:
  --namespace NAME                    where the resolvers run and the operator keeps its state (default ${DEFAULT_NAMESPACE})
  --resolver-image-repository REPO    resolver images are REPO:<spec.version> (default ${DEFAULT_IMAGE_REPOSITORY})
  --coredns-image-repository REPO     engine coredns: images are REPO:v<spec.version> (default ${DEFAULT_COREDNS_IMAGE_REPOSITORY})
  --leader-elect[=true|false]         elect a leader on a Lease so that several replicas can run (default false)
  --metrics-addr ADDR                 /metrics on host:port, :port, or 0 for none (default :8080)
  --health-addr ADDR                  /healthz and /readyz on host:port, :port, or 0 for none (default :8081)
  --log-level LEVEL                   ${LOG_LEVELS.join(' | ')} (default info)
  --kubeconfig FILE                   default: in-cluster, else $KUBECONFIG or ~/.kube/config
  --selector SELECTOR                 reconcile only the ClusterDNS objects with these labels (default: all)
  --webhook[=true|false]              serve the injection webhook (default true)
  --webhook-port PORT                 HTTPS port of the webhook (default ${WEBHOOK_PORT})
  --webhook-host HOST                 address the webhook binds (default: every interface; local mode uses 127.0.0.1)
  --webhook-url URL                   register this URL with the apiserver instead of the clusterdns-webhook Service
  --autoscaling-debounce DURATION     spec.autoscaling acts on Node changes once they paused this long, and at
                                      the latest after five times as long (default 2s; 0 acts on each change)
  --autoscaling-downscale-stabilization DURATION
                                      replicas go down only once the lower figure has held this long (default 5m)
  --analysis-targets FILE             read spec.analysis's shadow summaries from the addresses this JSON file names
                                      per instance ({"instances": {"NAME": ["HOST:PORT"]}}) instead of the pods
                                      (local mode, whose resolvers run on loopback)
`;

const BOOLEAN_FLAGS = ['leader-elect', 'webhook', 'help'] as const;

/**
 * A label selector as kubectl writes one: comma-separated `k=v`, `k==v`, `k!=v`, `k`, `!k`,
 * `k in (a,b)`, `k notin (a,b)`.
 */
const SELECTOR_TERM = /^\s*(!?[A-Za-z0-9][-A-Za-z0-9_./]*|[A-Za-z0-9][-A-Za-z0-9_./]*\s*(==?|!=)\s*[-A-Za-z0-9_.]*|[A-Za-z0-9][-A-Za-z0-9_./]*\s+(in|notin)\s*\(\s*[-A-Za-z0-9_.]*(\s*,\s*[-A-Za-z0-9_.]*)*\s*\))\s*$/;

function splitSelector(selector: string): string[] {
  // Commas inside the parentheses of in/notin do not separate terms.
  return selector.split(/,(?![^(]*\))/);
}

const address = (flag: string) => z.string().transform((value, ctx): ListenAddress | undefined => {
  try {
    return parseListenAddress(value);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: `--${flag}: ${error instanceof Error ? error.message : String(error)}` });
    return z.NEVER;
  }
});

const duration = (flag: string, maxMs: number) => z.string().transform((value, ctx): number => {
  const ms = parseDuration(value);
  if (ms === undefined || ms > maxMs) {
    ctx.addIssue({ code: 'custom', message: `--${flag} must be a duration such as 500ms, 2s or 5m, at most ${maxMs / 60_000}m` });
    return z.NEVER;
  }
  return ms;
});

/** An image repository without tag or digest. */
const repository = (flag: string, example: string) =>
  z.string().min(1).regex(/^[^\s@:]+(:\d+)?(\/[^\s@:]+)*$/, `--${flag} must be a repository without tag or digest, such as ${example}`);

const optionsSchema = z.object({
  namespace: z.string().max(63).regex(DNS1123_LABEL, '--namespace must be a namespace name (a DNS-1123 label)'),
  resolverImageRepository: repository('resolver-image-repository', DEFAULT_IMAGE_REPOSITORY),
  corednsImageRepository: repository('coredns-image-repository', DEFAULT_COREDNS_IMAGE_REPOSITORY),
  leaderElect: z.boolean(),
  metricsAddr: address('metrics-addr'),
  healthAddr: address('health-addr'),
  logLevel: z.enum(LOG_LEVELS, { error: `--log-level must be one of ${LOG_LEVELS.join(', ')}` }),
  kubeconfig: z.string().min(1).optional(),
  selector: z.string().refine((s) => s.trim() === '' || splitSelector(s).every((term) => SELECTOR_TERM.test(term)), '--selector is not a label selector (k=v, k!=v, k, !k, k in (a,b), ...)'),
  webhook: z.boolean(),
  webhookPort: z.coerce.number({ error: '--webhook-port must be a port number' }).int().min(1).max(65535),
  webhookHost: z.string().min(1).optional(),
  webhookUrl: z.url({ protocol: /^https$/, error: '--webhook-url must be an https:// URL' }).optional(),
  autoscalingDebounceMs: duration('autoscaling-debounce', 600_000),
  autoscalingDownscaleStabilizationMs: duration('autoscaling-downscale-stabilization', 3_600_000),
  analysisTargets: z.string().min(1, '--analysis-targets must name a file').optional(),
});

export type OperatorOptions = z.infer<typeof optionsSchema>;

export type ParsedFlags = { readonly kind: 'help' } | { readonly kind: 'error'; readonly message: string } | { readonly kind: 'ok'; readonly options: OperatorOptions };

/** `--flag=true` becomes `--flag`, `--flag=false` becomes `--no-flag`, for the boolean flags. */
export function normalizeBooleanFlags(args: readonly string[]): string[] {
  return args.map((arg) => {
    const match = /^--([a-z-]+)=(true|false)$/.exec(arg);
    const name = match?.[1];
    if (!name || !(BOOLEAN_FLAGS as readonly string[]).includes(name)) return arg;
    return match[2] === 'true' ? `--${name}` : `--no-${name}`;
  });
}

export function parseOperatorFlags(args: readonly string[]): ParsedFlags {
  let values;
  try {
    ({ values } = parseArgs({
      args: normalizeBooleanFlags(args),
      allowNegative: true,
      options: {
        help: { type: 'boolean', short: 'h' },
        namespace: { type: 'string', default: DEFAULT_NAMESPACE },
        'resolver-image-repository': { type: 'string', default: DEFAULT_IMAGE_REPOSITORY },
        'coredns-image-repository': { type: 'string', default: DEFAULT_COREDNS_IMAGE_REPOSITORY },
        'leader-elect': { type: 'boolean', default: false },
        'metrics-addr': { type: 'string', default: ':8080' },
        'health-addr': { type: 'string', default: ':8081' },
        'log-level': { type: 'string', default: 'info' },
        kubeconfig: { type: 'string' },
        selector: { type: 'string', default: '' },
        webhook: { type: 'boolean', default: true },
        'webhook-port': { type: 'string', default: String(WEBHOOK_PORT) },
        'webhook-host': { type: 'string' },
        'webhook-url': { type: 'string' },
        'autoscaling-debounce': { type: 'string', default: '2s' },
        'autoscaling-downscale-stabilization': { type: 'string', default: '5m' },
        'analysis-targets': { type: 'string' },
      },
    }));
  } catch (error) {
    return { kind: 'error', message: error instanceof Error ? error.message : String(error) };
  }
  if (values.help) return { kind: 'help' };
  const parsed = optionsSchema.safeParse({
    namespace: values.namespace,
    resolverImageRepository: values['resolver-image-repository'],
    corednsImageRepository: values['coredns-image-repository'],
    leaderElect: values['leader-elect'],
    metricsAddr: values['metrics-addr'],
    healthAddr: values['health-addr'],
    logLevel: values['log-level'],
    kubeconfig: values.kubeconfig,
    selector: values.selector,
    webhook: values.webhook,
    webhookPort: values['webhook-port'],
    webhookHost: values['webhook-host'],
    webhookUrl: values['webhook-url'],
    autoscalingDebounceMs: values['autoscaling-debounce'],
    autoscalingDownscaleStabilizationMs: values['autoscaling-downscale-stabilization'],
    analysisTargets: values['analysis-targets'],
  });
  if (!parsed.success) return { kind: 'error', message: parsed.error.issues.map((issue) => issue.message).join('; ') };
  return { kind: 'ok', options: parsed.data };
}
