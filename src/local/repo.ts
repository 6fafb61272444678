/**
 * Where the checkout is and what hack/versions.env pins. Local mode and the test harness run
 * from a checkout (they build the control plane from its hack/ module); the image never does.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The nearest ancestor of this module that holds hack/versions.env. */
export function repositoryRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'hack', 'versions.env'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('hack/versions.env not found above ' + fileURLToPath(import.meta.url) + ': local mode runs from a clusterdns checkout');
    dir = parent;
  }
}

/** What hack/versions.env pins. */
export interface PinnedVersions {
  readonly kubernetes: string;
  readonly etcd: string;
  readonly kwok: string;
  readonly coredns: string;
  /** The oldest CoreDNS release the engine coredns runs, and the one kubeadm deploys (local mode's kube-dns). */
  readonly corednsOldest: string;
  readonly kubeadmCoredns: string;
  readonly containerd: string;
  /** The sandbox image's name, under which the pause archive is imported. */
  readonly pauseImage: string;
}

/** The pins, and the Node.js release of the Dockerfile's base image (the real node's image base). */
export interface Versions extends PinnedVersions {
  readonly node: string;
}

/** Parses `KEY=value` lines, ignoring comments and blanks. */
export function parseVersionsEnv(text: string): PinnedVersions {
  const values = new Map<string, string>();
  for (const line of text.split('\n')) {
    const match = /^\s*([A-Z_]+)=(\S+)\s*$/.exec(line);
    if (match?.[1] && match[2]) values.set(match[1], match[2]);
  }
  const get = (key: string): string => {
    const value = values.get(key);
    if (!value) throw new Error(`hack/versions.env has no ${key}`);
    return value;
  };
  return {
    kubernetes: get('KUBERNETES_VERSION'), etcd: get('ETCD_VERSION'), kwok: get('KWOK_VERSION'), coredns: get('COREDNS_VERSION'),
    containerd: get('CONTAINERD_VERSION'), pauseImage: get('PAUSE_IMAGE'),
    corednsOldest: get('COREDNS_OLDEST_VERSION'), kubeadmCoredns: get('KUBEADM_COREDNS_VERSION'),
  };
}

/**
 * The Node.js version of the Dockerfile's base image, from `ARG NODE_IMAGE=node:<v>-bookworm-slim`:
 * the stand-in base built here (hack/build-binaries.sh node-base) follows it.
 */
export function dockerfileNodeVersion(dockerfile: string): string {
  const match = /^ARG NODE_IMAGE=node:(\d+\.\d+\.\d+)-bookworm-slim$/m.exec(dockerfile);
  if (!match?.[1]) throw new Error('the Dockerfile has no ARG NODE_IMAGE=node:<version>-bookworm-slim');
  return match[1];
}

export function readVersions(root = repositoryRoot()): Versions {
  return {
    ...parseVersionsEnv(readFileSync(join(root, 'hack', 'versions.env'), 'utf8')),
    node: dockerfileNodeVersion(readFileSync(join(root, 'Dockerfile'), 'utf8')),
  };
}
