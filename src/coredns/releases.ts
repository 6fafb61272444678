/**
 * The CoreDNS releases that `engine: coredns` runs, and what the Corefile of each must say
 * differently. Pure data and pure functions.
 *
 * The facts come from coredns/corefile-migration (migration/versions.go: the plugins and
 * options of every release, as kubeadm uses them to migrate a Corefile on upgrade) and from
 * the Go module proxy (which releases exist). The oldest is the first whose kubernetes plugin
 * reads discovery.k8s.io/v1 EndpointSlices (1.8.4): earlier releases look for v1beta1, which
 * Kubernetes removed in 1.25, and fall back to the v1 Endpoints API, deprecated since 1.33 and
 * empty where its controller is off, so their answers lack every endpoint. Built from their
 * modules and run against the pinned Kubernetes, 1.8.3 answers no headless Service and 1.8.4
 * answers as the newest (docs/coredns-engine.md).
 *
 * An operator knows the releases up to its own build, as kubeadm does: a newer version is
 * refused unless `spec.image` names an image of it, which then gets the Corefile of NEWEST.
 */

/** Every CoreDNS release in the supported range, oldest first (git tags without the `v`). */
export const COREDNS_RELEASES = [
  '1.8.4', '1.8.5', '1.8.6', '1.8.7',
  '1.9.0', '1.9.1', '1.9.2', '1.9.3', '1.9.4',
  '1.10.0', '1.10.1',
  '1.11.0', '1.11.1', '1.11.2', '1.11.3', '1.11.4',
  '1.12.0', '1.12.1', '1.12.2', '1.12.3', '1.12.4',
  '1.13.0', '1.13.1', '1.13.2',
  '1.14.0', '1.14.1', '1.14.2', '1.14.3', '1.14.4', '1.14.5', '1.14.6', '1.14.7',
  '1.15.0',
] as const;

export const OLDEST_COREDNS = COREDNS_RELEASES[0];
export const NEWEST_COREDNS = COREDNS_RELEASES[COREDNS_RELEASES.length - 1] ?? OLDEST_COREDNS;

/**
 * Releases that exist as Go modules but were never published as images: the image push of
 * 1.11.2 failed (coredns/coredns#6638), and corefile-migration skips it (1.11.1 → 1.11.3).
 */
const WITHOUT_IMAGE: ReadonlySet<string> = new Set(['1.11.2']);

/** What the Corefile of a release may use beyond what every supported release accepts. */
export interface CorefileDialect {
  /** The release whose dialect this is. */
  readonly release: string;
  /**
   * `cache { disable success|denial ZONE }` (1.9.4, corefile-migration's cache "v3"). Without
   * it the cluster zone is cached too, so a change can be seen up to cacheSeconds later.
   */
  readonly cacheDisable: boolean;
}

/** The first release that has each dialect feature. */
const SINCE = { cacheDisable: '1.9.4' } as const;

/** A release as three numbers; undefined when `version` is not `X.Y.Z`. */
export function parseRelease(version: string): readonly [number, number, number] | undefined {
  const match = /^(0|[1-9][0-9]{0,3})\.(0|[1-9][0-9]{0,3})\.(0|[1-9][0-9]{0,3})$/.exec(version);
  if (!match) return undefined;
  return [Number(match[1]), Number(match[2]), Number(match[3])];
}

/** Orders two `X.Y.Z` versions; an unparsable one sorts first. */
export function compareReleases(a: string, b: string): number {
  const [x, y] = [parseRelease(a) ?? [-1, -1, -1], parseRelease(b) ?? [-1, -1, -1]];
  for (let i = 0; i < 3; i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * The Corefile dialect of `version`: that of the newest known release not after it (total:
 * a version before OLDEST gets OLDEST's, one after NEWEST gets NEWEST's).
 */
export function dialectOf(version: string): CorefileDialect {
  const known = [...COREDNS_RELEASES].reverse().find((r) => compareReleases(r, version) <= 0) ?? OLDEST_COREDNS;
  return { release: known, cacheDisable: compareReleases(known, SINCE.cacheDisable) >= 0 };
}

/** Why a version cannot run; the message names spec.version and says what would. */
export type VersionRefusal = { readonly reason: 'UnsupportedVersion' | 'UnknownVersion'; readonly message: string };

/**
 * Whether the operator runs CoreDNS `version`: undefined when it does. `customImage` is
 * whether spec.image names the image (then releases after NEWEST run too).
 */
export function refuseCoreDNSVersion(version: string, customImage: boolean): VersionRefusal | undefined {
  const field = `spec.version ${version}`;
  const range = `supported: CoreDNS ${OLDEST_COREDNS} to ${NEWEST_COREDNS}`;
  if (!parseRelease(version)) {
    return { reason: 'UnknownVersion', message: `${field} is not a CoreDNS release (X.Y.Z, such as ${NEWEST_COREDNS}); ${range}` };
  }
  if (compareReleases(version, OLDEST_COREDNS) < 0) {
    return {
      reason: 'UnsupportedVersion',
      message: `${field} is older than the oldest CoreDNS release this operator runs (${range}): before ${OLDEST_COREDNS} CoreDNS `
        + 'reads endpoints from discovery.k8s.io/v1beta1 EndpointSlices, which Kubernetes removed in 1.25, or from the deprecated v1 Endpoints',
    };
  }
  if (compareReleases(version, NEWEST_COREDNS) > 0) {
    if (customImage) return undefined;
    return {
      reason: 'UnknownVersion',
      message: `${field} is newer than the newest CoreDNS release this operator knows (${NEWEST_COREDNS}); `
        + `set spec.image to an image of it to run it with the Corefile of ${NEWEST_COREDNS}`,
    };
  }
  if (!(COREDNS_RELEASES as readonly string[]).includes(version)) {
    const after = COREDNS_RELEASES.find((r) => compareReleases(r, version) > 0);
    const before = [...COREDNS_RELEASES].reverse().find((r) => compareReleases(r, version) < 0);
    return { reason: 'UnknownVersion', message: `${field} is not a CoreDNS release; the nearest are ${before ?? OLDEST_COREDNS} and ${after ?? NEWEST_COREDNS}` };
  }
  if (WITHOUT_IMAGE.has(version) && !customImage) {
    const after = COREDNS_RELEASES.find((r) => compareReleases(r, version) > 0) ?? NEWEST_COREDNS;
    return { reason: 'UnknownVersion', message: `${field} was never published as an image (its release failed); use ${after}, or set spec.image to an image of your own` };
  }
  return undefined;
}
