/**
 * `clusterdns resolver --config FILE [--kubeconfig FILE]`: the DNS server of a ClusterDNS
 * instance. The config file (JSON or YAML) is read once; a bad one stops the process with
 * the field named (exit code 2). SIGTERM or SIGINT start lameduck (answers continue,
 * /ready fails) for `lameduckSeconds`, then the process exits 0; a second signal exits at once.
 */
import { parseArgs } from 'node:util';
import { ConfigError, loadResolverConfig } from '../resolver/config.ts';
import { Resolver } from '../resolver/resolver.ts';
import { KubeClient, loadKubeConfig } from '../kube/client.ts';
import { createLogger } from '../kube/log.ts';

const usage = `usage: clusterdns resolver --config FILE [--kubeconfig FILE]

Serves the Kubernetes DNS specification for the cluster domain from a watch cache of
Services, EndpointSlices and Namespaces, and forwards other names upstream.

flags:
  --config FILE       resolver configuration, JSON or YAML (required)
  --kubeconfig FILE   kubeconfig; default in-cluster, then $KUBECONFIG or ~/.kube/config
`;

export async function run(args: string[]): Promise<number> {
  let values: { config?: string; kubeconfig?: string; help?: boolean };
  try {
    ({ values } = parseArgs({ args, options: { config: { type: 'string' }, kubeconfig: { type: 'string' }, help: { type: 'boolean', short: 'h' } } }));
  } catch (error) {
    process.stderr.write(`clusterdns resolver: ${error instanceof Error ? error.message : String(error)}\n\n${usage}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(usage);
    return 0;
  }
  if (!values.config) {
    process.stderr.write(`clusterdns resolver: --config is required\n\n${usage}`);
    return 2;
  }
  let resolver: Resolver;
  try {
    const config = loadResolverConfig(values.config);
    const log = createLogger('resolver', config.logLevel);
    const client = new KubeClient(loadKubeConfig(values.kubeconfig));
    resolver = new Resolver({ config, client, log });
    await resolver.start();
  } catch (error) {
    const message = error instanceof ConfigError ? error.message : error instanceof Error ? error.message : String(error);
    process.stderr.write(`clusterdns resolver: ${message}\n`);
    return 2;
  }
  await new Promise<void>((resolve) => {
    const onSignal = (): void => {
      process.once('SIGTERM', () => process.exit(1));
      process.once('SIGINT', () => process.exit(1));
      void resolver.lameduck().then(resolve);
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  });
  return 0;
}
