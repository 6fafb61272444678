/**
 * OCI image archives written directly, for images whose content is a few files (a static
 * binary and what it needs): the one-layer tar, the config, the manifest and the index, in
 * the layout that `ctr images import` takes. Pure: the same entries give byte-identical
 * archives (every mtime is 0, entries in the order given), so a digest names the content.
 *
 * Tar is POSIX ustar with a PAX extended header where an entry needs one: a path longer than
 * ustar holds, or extended attributes (`SCHILY.xattr.<name>`, as GNU tar and Go's archive/tar
 * write them; containerd sets them when it unpacks). That is how a file capability such as
 * CoreDNS's `cap_net_bind_service=+ep` travels in an image.
 */
import { createHash } from 'node:crypto';

export type LayerEntry =
  | { readonly type: 'dir'; readonly path: string; readonly mode: number; readonly uid?: number; readonly gid?: number }
  | {
    readonly type: 'file'; readonly path: string; readonly mode: number; readonly uid?: number; readonly gid?: number;
    readonly data: Buffer;
    readonly xattrs?: Readonly<Record<string, Buffer>>;
  };

/** What a container of the image runs, as the OCI image config's `config` holds it. */
export interface ImageRunConfig {
  readonly user: string;
  readonly entrypoint: readonly string[];
  readonly cmd?: readonly string[];
  readonly env?: readonly string[];
  readonly workingDir?: string;
  /** `53/udp`, `53/tcp`, ... */
  readonly exposedPorts?: readonly string[];
  readonly labels?: Readonly<Record<string, string>>;
}

export interface ImageArchiveSpec {
  /** Fully qualified name and tag, e.g. `registry.k8s.io/coredns/coredns:v1.15.0`. */
  readonly name: string;
  readonly config: ImageRunConfig;
  readonly layer: readonly LayerEntry[];
  /** A line for the image's history (what built it). */
  readonly createdBy: string;
}

const BLOCK = 512;

/** The bytes of a tar archive of `entries` (ending in the two zero blocks). */
export function tarArchive(entries: readonly LayerEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const entry of entries) {
    const name = entry.type === 'dir' ? `${trimSlashes(entry.path)}/` : trimSlashes(entry.path);
    const pax: Array<[string, Buffer]> = [];
    const fits = splitUstarName(name);
    if (!fits) pax.push(['path', Buffer.from(name)]);
    if (entry.type === 'file') for (const [key, value] of Object.entries(entry.xattrs ?? {})) pax.push([`SCHILY.xattr.${key}`, value]);
    if (pax.length > 0) {
      const body = paxRecords(pax);
      parts.push(header({ name: `PaxHeaders/${name}`.slice(0, 99), mode: 0o644, uid: 0, gid: 0, size: body.length, type: 'x' }), padded(body));
    }
    const size = entry.type === 'file' ? entry.data.length : 0;
    parts.push(header({ name: fits ? name : name.slice(0, 99), mode: entry.mode, uid: entry.uid ?? 0, gid: entry.gid ?? 0, size, type: entry.type === 'file' ? '0' : '5' }));
    if (entry.type === 'file') parts.push(padded(entry.data));
  }
  parts.push(Buffer.alloc(2 * BLOCK));
  return Buffer.concat(parts);
}

/** An OCI image layout (oci-layout, index.json, blobs/sha256/...) as one tar, with the digest of its manifest. */
export function ociImageArchive(spec: ImageArchiveSpec): { archive: Buffer; manifestDigest: string } {
  const layer = tarArchive(spec.layer);
  const layerDigest = sha256(layer);
  const config = Buffer.from(JSON.stringify(imageConfig(spec, layerDigest)));
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: descriptor('application/vnd.oci.image.config.v1+json', config),
    // Uncompressed: containerd stores layers as they come, and gzip would only cost time here.
    layers: [descriptor('application/vnd.oci.image.layer.v1.tar', layer)],
  }));
  const tag = spec.name.slice(spec.name.lastIndexOf(':') + 1);
  const index = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [{
      ...descriptor('application/vnd.oci.image.manifest.v1+json', manifest),
      platform: { architecture: 'amd64', os: 'linux' },
      annotations: { 'io.containerd.image.name': spec.name, 'org.opencontainers.image.ref.name': tag },
    }],
  }));
  const blob = (data: Buffer): LayerEntry => ({ type: 'file', path: `blobs/sha256/${sha256(data)}`, mode: 0o644, data });
  const archive = tarArchive([
    { type: 'file', path: 'oci-layout', mode: 0o644, data: Buffer.from(JSON.stringify({ imageLayoutVersion: '1.0.0' })) },
    { type: 'file', path: 'index.json', mode: 0o644, data: index },
    { type: 'dir', path: 'blobs', mode: 0o755 },
    { type: 'dir', path: 'blobs/sha256', mode: 0o755 },
    blob(layer), blob(config), blob(manifest),
  ]);
  return { archive, manifestDigest: `sha256:${sha256(manifest)}` };
}

function imageConfig(spec: ImageArchiveSpec, layerDigest: string): object {
  const run = spec.config;
  return {
    architecture: 'amd64',
    os: 'linux',
    created: '1970-01-01T00:00:00Z',
    config: {
      User: run.user,
      Entrypoint: run.entrypoint,
      ...(run.cmd ? { Cmd: run.cmd } : {}),
      ...(run.env ? { Env: run.env } : {}),
      WorkingDir: run.workingDir ?? '/',
      ...(run.exposedPorts ? { ExposedPorts: Object.fromEntries(run.exposedPorts.map((p) => [p, {}])) } : {}),
      ...(run.labels ? { Labels: run.labels } : {}),
    },
    rootfs: { type: 'layers', diff_ids: [`sha256:${layerDigest}`] },
    history: [{ created: '1970-01-01T00:00:00Z', created_by: spec.createdBy }],
  };
}

function descriptor(mediaType: string, data: Buffer): { mediaType: string; digest: string; size: number } {
  return { mediaType, digest: `sha256:${sha256(data)}`, size: data.length };
}

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function trimSlashes(path: string): string {
  return path.replace(/^\/+|\/+$/g, '');
}

/** ustar's name (100) and prefix (155) fields, or undefined when the name needs a PAX path. */
function splitUstarName(name: string): { name: string; prefix: string } | undefined {
  if (Buffer.byteLength(name) <= 100) return { name, prefix: '' };
  const cut = name.lastIndexOf('/', name.length - 2);
  if (cut <= 0) return undefined;
  const [prefix, rest] = [name.slice(0, cut), name.slice(cut + 1)];
  return Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(rest) <= 100 ? { name: rest, prefix } : undefined;
}

/** PAX records: `<length> <key>=<value>\n`, where the length counts the whole record, itself included. */
function paxRecords(records: ReadonlyArray<[string, Buffer]>): Buffer {
  return Buffer.concat(records.map(([key, value]) => {
    const rest = Buffer.concat([Buffer.from(` ${key}=`), value, Buffer.from('\n')]);
    let length = rest.length + 1;
    while (String(length).length + rest.length !== length) length = String(length).length + rest.length;
    return Buffer.concat([Buffer.from(String(length)), rest]);
  }));
}

interface Header { name: string; mode: number; uid: number; gid: number; size: number; type: '0' | '5' | 'x' }

function header(h: Header): Buffer {
  const block = Buffer.alloc(BLOCK);
  const split = splitUstarName(h.name) ?? { name: h.name, prefix: '' };
  const octal = (value: number, width: number, at: number): void => {
    block.write(`${value.toString(8).padStart(width - 1, '0')}\0`, at, width, 'ascii');
  };
  block.write(split.name, 0, 100, 'utf8');
  octal(h.mode, 8, 100);
  octal(h.uid, 8, 108);
  octal(h.gid, 8, 116);
  octal(h.size, 12, 124);
  octal(0, 12, 136);
  block.write(h.type, 156, 1, 'ascii');
  block.write('ustar\0' + '00', 257, 8, 'ascii');
  block.write(split.prefix, 345, 155, 'utf8');
  // The checksum is computed with its own field as eight spaces.
  block.fill(' ', 148, 156);
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'ascii');
  return block;
}

function padded(data: Buffer): Buffer {
  const rest = data.length % BLOCK;
  return rest === 0 ? data : Buffer.concat([data, Buffer.alloc(BLOCK - rest)]);
}
