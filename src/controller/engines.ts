/**
 * What differs between the engines in an instance's children: the image, the config file in
 * the ConfigMap (the resolver's JSON or a Corefile) and where it is mounted, the command
 * line, and the ServiceAccount (each engine reads only what it answers from). Everything
 * else (ports, probes, Service, PDB, security) is the same contract. Pure.
 */
import type { ClusterDNS, Engine } from '../api/clusterdns.ts';
import {
  COREDNS_SERVICE_ACCOUNT, COREDNS_VERIFIED_PODS_SERVICE_ACCOUNT, RESOLVER_CONFIG_DIR, RESOLVER_CONFIG_KEY, RESOLVER_SERVICE_ACCOUNT,
  RESOLVER_VERIFIED_PODS_SERVICE_ACCOUNT,
} from '../api/names.ts';
import { resolverConfigFor, shadowConfigFor } from '../api/resolver-config.ts';
import { COREFILE_DIR, COREFILE_KEY, renderCorefile } from '../coredns/corefile.ts';
import { dialectOf, refuseCoreDNSVersion } from '../coredns/releases.ts';
import type { VersionRefusal } from '../coredns/releases.ts';

/** Where images come from, per engine. */
export interface ImageRepositories {
  /** Resolver images are `<imageRepository>:<spec.version>`. */
  readonly imageRepository: string;
  /** CoreDNS images are `<corednsImageRepository>:v<spec.version>`. */
  readonly corednsImageRepository: string;
}

/** The server an instance with spec.analysis compares its answers with: the baseline Service's clusterIP, and what runs behind it. */
export interface ShadowBaseline {
  readonly address: string;
  readonly engine: Engine;
}

export interface EngineFiles {
  readonly image: string;
  /** The ConfigMap key and the file's text. */
  readonly configKey: string;
  readonly configText: string;
  /** Where the pod mounts the ConfigMap. */
  readonly configDir: string;
  readonly args: readonly string[];
  readonly serviceAccountName: string;
  /** Seconds the process keeps answering after SIGTERM. */
  readonly lameduckSeconds: number;
}

/** Why the engine of `cr` cannot run its spec.version (the operator then applies nothing); undefined when it can. */
export function engineRefusal(cr: ClusterDNS): VersionRefusal | undefined {
  return cr.spec.engine === 'coredns' ? refuseCoreDNSVersion(cr.spec.version, Boolean(cr.spec.image)) : undefined;
}

/** The image the pods of `cr` run. */
export function imageOf(cr: ClusterDNS, repositories: ImageRepositories): string {
  if (cr.spec.image) return cr.spec.image;
  return cr.spec.engine === 'coredns' ? `${repositories.corednsImageRepository}:v${cr.spec.version}` : `${repositories.imageRepository}:${cr.spec.version}`;
}

/**
 * The engine's files for `cr`. With spec.analysis and a `shadow` baseline, the resolver's
 * configuration has its shadow section; CoreDNS has no shadow comparison (docs/analysis.md),
 * so a Corefile never depends on it.
 */
export function engineFiles(cr: ClusterDNS, repositories: ImageRepositories, shadow?: ShadowBaseline): EngineFiles {
  const config = resolverConfigFor(cr.spec);
  const image = imageOf(cr, repositories);
  if (cr.spec.engine === 'coredns') {
    return {
      image,
      configKey: COREFILE_KEY,
      configText: renderCorefile(config, dialectOf(cr.spec.version)),
      configDir: COREFILE_DIR,
      args: ['-conf', `${COREFILE_DIR}/${COREFILE_KEY}`],
      // CoreDNS watches pods only to verify pod names: only then may it read them.
      serviceAccountName: cr.spec.pods === 'verified' ? COREDNS_VERIFIED_PODS_SERVICE_ACCOUNT : COREDNS_SERVICE_ACCOUNT,
      lameduckSeconds: config.lameduckSeconds,
    };
  }
  const shadowConfig = shadowConfigFor(cr.spec.analysis, shadow?.address, shadow?.engine);
  return {
    image,
    configKey: RESOLVER_CONFIG_KEY,
    configText: JSON.stringify(shadowConfig ? { ...config, shadow: shadowConfig } : config),
    configDir: RESOLVER_CONFIG_DIR,
    args: ['resolver', '--config', `${RESOLVER_CONFIG_DIR}/${RESOLVER_CONFIG_KEY}`],
    // The same for our resolver: only an instance that verifies pod names may read pods.
    serviceAccountName: cr.spec.pods === 'verified' ? RESOLVER_VERIFIED_PODS_SERVICE_ACCOUNT : RESOLVER_SERVICE_ACCOUNT,
    lameduckSeconds: config.lameduckSeconds,
  };
}
