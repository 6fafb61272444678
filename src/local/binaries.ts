/**
 * Finds the control plane binaries, building them from the Go module proxy the first time.
 *
 * Each binary is looked up in `KUBEBUILDER_ASSETS` first (envtest's convention, so a user
 * who already has kube-apiserver, etcd and kubectl there is not made to build them), then
 * in the cache `~/.cache/clusterdns/<component>-<version>/` (or `CLUSTERDNS_CACHE`). A
 * component that is in neither place is built by hack/build-binaries.sh, whose progress is
 * passed through to `log`.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { readVersions, repositoryRoot } from './repo.ts';
import type { Versions } from './repo.ts';

export type Component = 'kubernetes' | 'etcd' | 'kwok' | 'coredns' | 'kubernetes-node' | 'containerd' | 'node-base';

const BINARIES = {
  kubeApiserver: ['kubernetes', 'kube-apiserver'],
  kubeControllerManager: ['kubernetes', 'kube-controller-manager'],
  kubeScheduler: ['kubernetes', 'kube-scheduler'],
  kubectl: ['kubernetes', 'kubectl'],
  etcd: ['etcd', 'etcd'],
  kwok: ['kwok', 'kwok'],
  kwokStages: ['kwok', 'stages.yaml'],
  coredns: ['coredns', 'coredns'],
  kubelet: ['kubernetes-node', 'kubelet'],
  kubeProxy: ['kubernetes-node', 'kube-proxy'],
  /** The pause image as an OCI archive, named after versions.env's PAUSE_IMAGE. */
  pauseArchive: ['kubernetes-node', 'pause.oci.tar'],
  containerd: ['containerd', 'containerd'],
  containerdShim: ['containerd', 'containerd-shim-runc-v2'],
  ctr: ['containerd', 'ctr'],
  /** The root file system standing in for the Dockerfile's base image. */
  nodeBaseRootfs: ['node-base', 'rootfs.tar'],
} as const satisfies Record<string, readonly [Component, string]>;

export type Binary = keyof typeof BINARIES;
export type BinaryPaths = Record<Binary, string>;

export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env['CLUSTERDNS_CACHE'] ?? join(homedir(), '.cache', 'clusterdns');
}

/** The cache directory's version suffix of a component. */
export function componentVersion(component: Component, versions: Versions): string {
  switch (component) {
    case 'kubernetes-node': return versions.kubernetes;
    case 'node-base': return `${versions.node}-bookworm`;
    default: return versions[component];
  }
}

/** Where each binary is, or would be once built; pure apart from `exists`. */
export function locateBinaries(versions: Versions, env: NodeJS.ProcessEnv, exists: (path: string) => boolean): BinaryPaths {
  const assets = env['KUBEBUILDER_ASSETS'];
  const paths = {} as BinaryPaths;
  for (const [binary, [component, file]] of Object.entries(BINARIES) as Array<[Binary, readonly [Component, string]]>) {
    const fromAssets = assets ? join(assets, file) : undefined;
    paths[binary] = fromAssets && exists(fromAssets) ? fromAssets : join(cacheDir(env), `${component}-${componentVersion(component, versions)}`, file);
  }
  return paths;
}

/**
 * Returns the paths of the binaries that `needed` components provide, building the
 * components that are missing. Throws if a build fails.
 */
export async function ensureBinaries(needed: readonly Component[], log: (line: string) => void): Promise<BinaryPaths> {
  const root = repositoryRoot();
  const paths = locateBinaries(readVersions(root), process.env, existsSync);
  const missing = needed.filter((component) =>
    (Object.keys(BINARIES) as Binary[]).some((binary) => BINARIES[binary][0] === component && !existsSync(paths[binary])),
  );
  if (missing.length > 0) {
    log(`building ${missing.join(', ')} from the Go module proxy (the first time takes several minutes)`);
    await runBuild(root, missing, log);
  }
  return paths;
}

/** hack/build-binaries.sh failed; its exit code says how (3: a CoreDNS release the Go module proxy does not have). */
export class BuildError extends Error {
  readonly exitCode: number | null;

  constructor(message: string, exitCode: number | null) {
    super(message);
    this.name = 'BuildError';
    this.exitCode = exitCode;
  }
}

/** Runs hack/build-binaries.sh for `components` (`coredns@X.Y.Z` included), its output passed to `log`. */
export function runBuild(root: string, components: readonly string[], log: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(join(root, 'hack', 'build-binaries.sh'), components, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, CLUSTERDNS_CACHE: cacheDir() },
    });
    for (const stream of [child.stdout, child.stderr]) createInterface({ input: stream }).on('line', log);
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code === 0) resolve();
      else reject(new BuildError(`hack/build-binaries.sh ${components.join(' ')} failed with exit code ${String(code)}`, code));
    });
  });
}
