/**
 * `clusterdns resolver --config FILE [--kubeconfig FILE]`: the DNS server of a ClusterDNS
 * instance. The config file (JSON or YAML) is read once; a bad one stops the process with
 * the field named (exit code 2). SIGTERM or SIGINT start lameduck (answers continue,
 * /ready fails) for `lameduckSeconds`, then the process exits 0; a second signal exits at once.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import type { ResolverConfig } from '../api/resolver-config.ts';
import { ConfigError, isJson, parseJsonConfig, readConfigText, validateResolverConfig } from '../resolver/config-file.ts';
import { accessInProcess } from '../resolver/kube-access.ts';
import { readHostFacts } from '../resolver/host-facts.ts';
import { Resolver } from '../resolver/resolver.ts';
import { kubeClientFor, runStartupHelper } from '../resolver/startup-helper.ts';
import type { KubeClient } from '../kube/client.ts';
import { createLogger } from '../kube/log.ts';

/** Time for the collector to give back the memory of the first lists before the flag goes off. */
const SETTLE_MS = 3000;

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
  // The machine's facts are read here, once, and passed in: no constructor reads anything.
  const host = readHostFacts();
  // While the first lists come in, V8 grows the heap with the pages it parses (garbage as
  // soon as they are shrunk into the index's tables) and keeps it: without a memory limit,
  // to about twice what the resolver then holds. With this flag it collects early and keeps
  // the heap small, at the price of a slower start (5.5 s against 3.3 s at 50,000 Services).
  // Within a memory limit (a pod's), V8 sizes its heap to the limit by itself, so the flag is
  // left off there and the start stays fast. Once synced it goes off again: it also makes
  // collections frequent and pauses longer (p99 latency twice as high). bench/RESULTS.md.
  const smallHeap = host.memoryLimitBytes === undefined;
  if (smallHeap) setFlagsFromString('--optimize-for-size');
  let resolver: Resolver;
  try {
    const { config, client } = await prepare(values.config, values.kubeconfig);
    resolver = new Resolver({ config, client, host, log: createLogger('resolver', config.logLevel) });
    await resolver.start();
    if (smallHeap) void resolver.synced.then(() => setTimeout(() => { setFlagsFromString('--no-optimize-for-size'); }, SETTLE_MS).unref());
  } catch (error) {
    process.stderr.write(`clusterdns resolver: ${error instanceof Error ? error.message : String(error)}\n`);
    // Sockets bound before the failure (a port taken for another) would keep the process
    // alive and not answering; it must end so that the kubelet restarts it.
    process.exit(2);
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

/** Reads and validates the config file and finds the apiserver and its credentials. */
async function prepare(configFile: string, kubeconfig: string | undefined): Promise<{ config: ResolverConfig; client: KubeClient }> {
  const text = readConfigText(configFile);
  // JSON is checked before anything else starts; YAML needs the helper's parser.
  const fromJson = isJson(text) ? validateResolverConfig(parseJsonConfig(text, configFile), configFile) : undefined;
  // The Deployment's case (a JSON config in a pod): no helper process at all.
  const access = accessInProcess(kubeconfig, { env: process.env, read: (file) => readFileSync(file, 'utf8'), home: homedir() });
  if (fromJson && access) return { config: fromJson, client: kubeClientFor(access, kubeconfig) };
  const found = await runStartupHelper(fromJson ? { kubeconfig } : { yaml: text, kubeconfig });
  if (found.config?.error !== undefined) throw new ConfigError(`${configFile}: not valid YAML: ${found.config.error}`);
  const config = fromJson ?? validateResolverConfig(found.config?.value, configFile);
  if (!found.access.value) throw new Error(`no usable kubeconfig: ${found.access.error ?? 'unknown error'}`);
  return { config, client: kubeClientFor(found.access.value, kubeconfig) };
}
