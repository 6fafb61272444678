/**
 * CoreDNS's container image for the real node, of any CoreDNS release whose binary is in the
 * cache (`coredns-v<version>/coredns`, hack/build-binaries.sh), assembled here as one layer,
 * with no registry and no image build tool.
 *
 * It is laid out like the official `registry.k8s.io/coredns/coredns` image (CoreDNS's
 * Dockerfile: distroless `static-debian12:nonroot`, the Debian CA bundle, `/coredns` with
 * `setcap cap_net_bind_service=+ep`, `USER nonroot:nonroot`, `WORKDIR /`, `EXPOSE 53 53/udp`,
 * `ENTRYPOINT ["/coredns"]`), and named like it, so that kubeadm's manifests run it unchanged:
 * - the user database that names `nonroot` 65532 (and root, nobody), nsswitch.conf, /tmp and
 *   nonroot's home, as distroless has them;
 * - the file capability, so that a non-root CoreDNS binds port 53 under kubeadm's
 *   `capabilities: {drop: [ALL], add: [NET_BIND_SERVICE]}` with `allowPrivilegeEscalation:
 *   false` (the capability is in the bounding and permitted sets before exec, so no_new_privs
 *   keeps it);
 * - the CA bundle of Debian's ca-certificates package (its Mozilla certificates, never this
 *   machine's local additions), for `forward . tls://...`.
 * /etc/resolv.conf, /etc/hosts and /etc/hostname come from the kubelet, as in any pod.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cacheDir } from './binaries.ts';
import type { BuiltImage } from './image-build.ts';
import { pruneArchives } from './image-build.ts';
import { ociImageArchive } from './oci-archive.ts';
import type { LayerEntry } from './oci-archive.ts';

export const COREDNS_REPOSITORY = 'registry.k8s.io/coredns/coredns';
/** distroless' nonroot user and group. */
export const NONROOT_ID = 65532;
/** Where Debian's ca-certificates package keeps the certificates it bundles. */
const DEBIAN_CA_DIR = '/usr/share/ca-certificates/mozilla';

/** `1.15.0` or `v1.15.0` → `1.15.0`. */
export function releaseOf(version: string): string {
  return version.replace(/^v/, '');
}

/** The image's name, as kubeadm names it: `registry.k8s.io/coredns/coredns:v1.15.0`. */
export function corednsImageName(version: string): string {
  return `${COREDNS_REPOSITORY}:v${releaseOf(version)}`;
}

/** Where hack/build-binaries.sh puts CoreDNS `version`. */
export function cachedCorednsBinary(version: string, cache = cacheDir()): string {
  return join(cache, `coredns-v${releaseOf(version)}`, 'coredns');
}

/**
 * `security.capability` for `cap_net_bind_service=+ep`: struct vfs_cap_data, revision 2
 * (little-endian: magic|effective flag, then permitted and inheritable for caps 0-31 and 32-63).
 */
export const NET_BIND_SERVICE_XATTR = ((): Buffer => {
  const data = Buffer.alloc(20);
  const VFS_CAP_REVISION_2 = 0x02000000;
  const VFS_CAP_FLAGS_EFFECTIVE = 0x000001;
  const CAP_NET_BIND_SERVICE = 10;
  data.writeUInt32LE(VFS_CAP_REVISION_2 | VFS_CAP_FLAGS_EFFECTIVE, 0);
  data.writeUInt32LE(1 << CAP_NET_BIND_SERVICE, 4);
  return data;
})();

const PASSWD = [
  'root:x:0:0:root:/root:/sbin/nologin',
  'nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin',
  `nonroot:x:${NONROOT_ID}:${NONROOT_ID}:nonroot:/home/nonroot:/sbin/nologin`,
];
const GROUP = ['root:x:0:', 'nobody:x:65534:', 'tty:x:5:', 'staff:x:50:', `nonroot:x:${NONROOT_ID}:`];

/** The image's one layer: pure, from the binary and the CA bundle (none: no bundle). */
export function corednsLayer(binary: Buffer, caBundle: Buffer | undefined): LayerEntry[] {
  const text = (lines: readonly string[]): Buffer => Buffer.from(lines.map((l) => `${l}\n`).join(''));
  return [
    { type: 'dir', path: 'etc', mode: 0o755 },
    { type: 'file', path: 'etc/group', mode: 0o644, data: text(GROUP) },
    { type: 'file', path: 'etc/nsswitch.conf', mode: 0o644, data: text(['hosts: files dns']) },
    { type: 'file', path: 'etc/passwd', mode: 0o644, data: text(PASSWD) },
    ...(caBundle ? [
      { type: 'dir', path: 'etc/ssl', mode: 0o755 },
      { type: 'dir', path: 'etc/ssl/certs', mode: 0o755 },
      { type: 'file', path: 'etc/ssl/certs/ca-certificates.crt', mode: 0o644, data: caBundle },
    ] as const : []),
    { type: 'dir', path: 'home', mode: 0o755 },
    { type: 'dir', path: 'home/nonroot', mode: 0o700, uid: NONROOT_ID, gid: NONROOT_ID },
    { type: 'dir', path: 'tmp', mode: 0o1777 },
    { type: 'file', path: 'coredns', mode: 0o755, data: binary, xattrs: { 'security.capability': NET_BIND_SERVICE_XATTR } },
  ];
}

/** The certificates of Debian's ca-certificates package, bundled as update-ca-certificates does (sorted), or undefined where there are none. */
export function debianCaBundle(dir = DEBIAN_CA_DIR): Buffer | undefined {
  if (!existsSync(dir)) return undefined;
  const files = readdirSync(dir).filter((name) => name.endsWith('.crt')).sort();
  if (files.length === 0) return undefined;
  return Buffer.concat(files.map((name) => {
    const pem = readFileSync(join(dir, name));
    return pem.at(-1) === 0x0a ? pem : Buffer.concat([pem, Buffer.from('\n')]);
  }));
}

export interface CorednsImageOptions {
  /** X.Y.Z or vX.Y.Z. */
  readonly version: string;
  /** The CoreDNS binary; default: the cache's `coredns-v<version>/coredns`. */
  readonly binary?: string;
  readonly cacheDir?: string;
  readonly log?: (line: string) => void;
}

/**
 * Writes (or finds) the OCI archive of CoreDNS `version` in the cache's `images/`, named by
 * the digest of its manifest: a rebuilt binary gives a new archive, the same one reuses it.
 */
export function buildCorednsImage(options: CorednsImageOptions): BuiltImage {
  const cache = options.cacheDir ?? cacheDir();
  const binaryPath = options.binary ?? cachedCorednsBinary(options.version, cache);
  if (!existsSync(binaryPath)) {
    throw new Error(`no CoreDNS ${options.version} binary at ${binaryPath}: build it with hack/build-binaries.sh`);
  }
  const began = Date.now();
  const name = corednsImageName(options.version);
  const { archive, manifestDigest } = ociImageArchive({
    name,
    layer: corednsLayer(readFileSync(binaryPath), debianCaBundle()),
    createdBy: `clusterdns: the CoreDNS v${releaseOf(options.version)} binary built from its Go module, laid out as CoreDNS's own image`,
    config: {
      user: 'nonroot:nonroot',
      entrypoint: ['/coredns'],
      env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt'],
      workingDir: '/',
      exposedPorts: ['53/tcp', '53/udp'],
      labels: { 'org.opencontainers.image.version': `v${releaseOf(options.version)}`, 'org.opencontainers.image.source': 'https://github.com/coredns/coredns' },
    },
  });
  const dir = join(cache, 'images');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${name.replace(/[/:]/g, '_')}-${manifestDigest.slice('sha256:'.length, 'sha256:'.length + 16)}.oci.tar`);
  if (existsSync(path)) {
    // Marks it in use for the pruning of other builds.
    utimesSync(path, new Date(), new Date());
    return { name, archive: path, bytes: statSync(path).size, buildMs: 0 };
  }
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, archive);
  renameSync(temp, path);
  pruneArchives(path);
  const buildMs = Date.now() - began;
  options.log?.(`assembled ${name} (${(archive.length / 2 ** 20).toFixed(0)} MiB) in ${(buildMs / 1000).toFixed(1)}s`);
  return { name, archive: path, bytes: archive.length, buildMs };
}
