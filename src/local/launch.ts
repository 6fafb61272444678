/**
 * How local mode runs one instance on loopback, per engine: the command line and the config
 * file it reads. Both engines get the configuration the operator renders for the instance's
 * pods (resolver-config.ts), with only the listen address, the ports and the apiserver
 * connection changed, so that what answers here is what would answer in the cluster.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Engine } from '../api/clusterdns.ts';
import { resolverConfigSchema } from '../api/resolver-config.ts';
import type { ResolverConfig } from '../api/resolver-config.ts';
import { renderCorefile } from '../coredns/corefile.ts';
import { dialectOf } from '../coredns/releases.ts';
import { clusterdnsCommand } from './self.ts';

export const LOOPBACK = '127.0.0.1';

export interface LoopbackPorts {
  readonly dns: number;
  readonly health: number;
  readonly ready: number;
  readonly metrics: number;
}

/** What to run for an instance. */
export interface LaunchSpec {
  readonly engine: Engine;
  /** The instance's name (its process is `resolver-<name>` or `coredns-<name>`). */
  readonly name: string;
  /** The resolver configuration as the operator renders it (JSON). */
  readonly config: string;
  /** engine coredns: the release to run and its binary. */
  readonly coredns?: { readonly release: string; readonly binary: string };
}

export interface LaunchContext {
  readonly dir: string;
  readonly kubeconfigPath: string;
  /** Replaces the node's resolv.conf as the upstream of an instance that names none (`HOST:PORT`). */
  readonly upstream?: string;
}

export interface Launch {
  /** The process' name, for its log file. */
  readonly name: string;
  readonly command: string;
  readonly args: string[];
  /** Grace after SIGTERM before SIGKILL: the lameduck, during which it still answers, and a margin. */
  readonly stopGraceMs: number;
}

/** The instance's configuration on loopback `ports`, its upstream replaced where it has none. */
export function loopbackConfig(config: string, ports: LoopbackPorts, upstream?: string): ResolverConfig {
  const parsed = resolverConfigSchema.parse(JSON.parse(config));
  const nameservers = parsed.upstream.nameservers.length === 0 && upstream ? [upstream] : parsed.upstream.nameservers;
  return {
    ...parsed,
    listenAddress: LOOPBACK, port: ports.dns, healthPort: ports.health, readyPort: ports.ready, metricsPort: ports.metrics,
    upstream: { ...parsed.upstream, nameservers },
  };
}

/** Writes the instance's config file into `context.dir` and says how to start it. */
export function prepareLaunch(spec: LaunchSpec, ports: LoopbackPorts, context: LaunchContext): Launch {
  const config = loopbackConfig(spec.config, ports, context.upstream);
  const stopGraceMs = config.lameduckSeconds * 1000 + 5000;
  if (spec.engine === 'coredns') {
    if (!spec.coredns) throw new Error(`${spec.name}: no CoreDNS binary to run`);
    const corefile = join(context.dir, `Corefile-${spec.name}`);
    writeFileSync(corefile, renderCorefile(config, dialectOf(spec.coredns.release), { kubeconfig: context.kubeconfigPath }));
    return { name: `coredns-${spec.name}`, command: spec.coredns.binary, args: ['-conf', corefile], stopGraceMs };
  }
  const file = join(context.dir, `resolver-${spec.name}.json`);
  writeFileSync(file, JSON.stringify(config, null, 2));
  const { command, args } = clusterdnsCommand('resolver', ['--config', file, '--kubeconfig', context.kubeconfigPath]);
  return { name: `resolver-${spec.name}`, command, args, stopGraceMs };
}
