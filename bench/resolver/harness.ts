/**
 * What every mode of `npm run bench:resolver` shares: the log line, the cleanup list (every
 * process and directory a run starts is stopped or removed, whatever happens), the resolver
 * compiled as the image ships it, the control plane, and the query files.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadKubeConfig } from '../../src/kube/client.ts';
import { ControlPlane } from '../../src/local/control-plane.ts';
import { clusterQueries } from './cluster-load.ts';
import type { BenchService } from './cluster-load.ts';
import { compileResolver } from './servers.ts';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const EXTERNAL_NAMES = 1000;

export const say = (line: string): void => { process.stderr.write(`bench: ${line}\n`); };
export const cleanups: Array<() => Promise<void> | void> = [];

export async function cleanup(): Promise<void> {
  for (const step of cleanups.splice(0).reverse()) {
    try {
      await step();
    } catch (error) {
      say(`cleanup: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}

/** Compiles the resolver as the image ships it (JavaScript, not type-stripped TypeScript). */
export function build(dir: string): string {
  return compileResolver(ROOT, join(dir, 'build'));
}

export async function startPlane(): Promise<ControlPlane> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await ControlPlane.start({ log: say });
    } catch (error) {
      // A port taken between choosing and binding it (the machine is shared): try again.
      if (attempt >= 3) throw error;
      say(`control plane did not start (${error instanceof Error ? error.message.split('\n')[0] ?? '' : String(error)}); again`);
    }
  }
}

/**
 * The control plane's kubeconfig as JSON: CoreDNS (client-go) reads it as it reads YAML, and
 * the resolver reads it in process, without its start-up helper, as it reads a pod's service
 * account (the case of a real instance, so the start-up measured is a real instance's).
 */
export function jsonKubeconfig(kubeconfigPath: string, dir: string): string {
  const file = join(dir, 'kubeconfig.json');
  writeFileSync(file, loadKubeConfig(kubeconfigPath).exportConfig());
  return file;
}

/** The cluster-name queries, the external names and the upstream's hosts file for them. */
export function queryFiles(dir: string, services: readonly BenchService[]): { cluster: string; external: string; externalHosts: string } {
  const cluster = join(dir, 'cluster-queries.txt');
  writeFileSync(cluster, clusterQueries(services));
  const names = Array.from({ length: EXTERNAL_NAMES }, (_, i) => `ext-${i}.bench.test`);
  const external = join(dir, 'external-queries.txt');
  writeFileSync(external, names.map((n) => `${n} A`).join('\n') + '\n');
  const externalHosts = join(dir, 'external-hosts');
  writeFileSync(externalHosts, names.map((n, i) => `192.0.${2 + (i >> 8)}.${i & 0xff} ${n}`).join('\n') + '\n');
  return { cluster, external, externalHosts };
}

/** Runs `main` with the cleanups done at the end and on SIGINT/SIGTERM. */
export async function runBench(main: () => Promise<void>): Promise<void> {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      say(`${signal}: cleaning up`);
      void cleanup().then(() => process.exit(130));
    });
  }
  try {
    await main();
  } finally {
    await cleanup();
  }
}
