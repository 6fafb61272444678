/**
 * Container images built on this machine, without a registry: buildah runs a Dockerfile's
 * own steps (chroot isolation, overlay storage under the cache) on a base image assembled
 * here, and writes an OCI archive that containerd imports. The Dockerfile stays the one
 * description of the image: nothing here knows what its steps are.
 *
 * The base stands in for the Dockerfile's `node:<v>-bookworm-slim`: the Debian bookworm
 * root file system with that Node.js release that hack/build-binaries.sh node-base makes.
 *
 * An archive is named by a hash of everything its build reads (the Dockerfile, the files its
 * COPY steps take, the build arguments and the base), so an unchanged checkout reuses it and
 * a changed one builds again (buildah's layer cache keeps that to the steps that changed).
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface ImageBuilderOptions {
  /** Cache directory (`~/.cache/clusterdns`); buildah's storage and the archives live in `images/` below it. */
  readonly cacheDir: string;
  /** The base's root file system (hack/build-binaries.sh node-base). */
  readonly baseRootfs: string;
  /** The Node.js version of the base, which names it. */
  readonly nodeVersion: string;
  readonly log?: (line: string) => void;
}

export interface ImageRequest {
  /** Fully qualified name and tag, e.g. `ghcr.io/clusterdns/clusterdns:0.1.0`. */
  readonly name: string;
  readonly dockerfile: string;
  readonly context: string;
  /** Files and directories (relative to `context`) that the build reads: they key the archive. */
  readonly inputs: readonly string[];
  readonly buildArgs?: Readonly<Record<string, string>>;
}

export interface BuiltImage {
  readonly name: string;
  readonly archive: string;
  /** Bytes of the archive (uncompressed layers: what the node stores). */
  readonly bytes: number;
  /** 0 when the archive was already there. */
  readonly buildMs: number;
}

/**
 * When an image is built, older archives of the same name beyond the newest few are removed
 * once unused for an hour (another checkout sharing the cache may still be importing one),
 * and so are buildah's untagged images (the layer cache of old builds) of more than a day.
 */
const ARCHIVES_KEPT = 3;
const ARCHIVE_IDLE_MS = 3600 * 1000;
const LAYER_CACHE_AGE = '24h';

export class ImageBuilder {
  readonly baseImage: string;
  private readonly options: ImageBuilderOptions;
  private readonly dir: string;

  constructor(options: ImageBuilderOptions) {
    this.options = options;
    this.dir = join(options.cacheDir, 'images');
    this.baseImage = `localhost/clusterdns-node-base:${options.nodeVersion}-bookworm-slim`;
  }

  /** Builds `request` unless an archive of the same inputs exists; returns the archive. */
  async build(request: ImageRequest): Promise<BuiltImage> {
    mkdirSync(this.dir, { recursive: true });
    await this.ensureBase();
    const key = inputHash(request, this.options.baseRootfs);
    const archive = join(this.dir, `${request.name.replace(/[/:]/g, '_')}-${key}.oci.tar`);
    if (existsSync(archive)) {
      // Marks it in use for the pruning of other builds.
      utimesSync(archive, new Date(), new Date());
      return { name: request.name, archive, bytes: statSync(archive).size, buildMs: 0 };
    }
    const began = Date.now();
    this.log(`building ${request.name} from ${relative(request.context, request.dockerfile)} with buildah`);
    const args = ['bud', '--isolation', 'chroot', '--layers', '--pull-never', ...this.buildVolumes(),
      '--build-arg', `NODE_IMAGE=${this.baseImage}`, ...Object.entries(request.buildArgs ?? {}).flatMap(([k, v]) => ['--build-arg', `${k}=${v}`]),
      '-f', request.dockerfile, '-t', request.name, request.context];
    await this.buildah(args);
    const temp = `${archive}.${process.pid}.tmp`;
    // Uncompressed: containerd stores layers as they come, and compressing hundreds of MB costs more than it saves here.
    await this.buildah(['push', '--disable-compression', request.name, `oci-archive:${temp}:${request.name}`]);
    renameSync(temp, archive);
    pruneArchives(archive);
    await this.pruneLayerCache();
    const buildMs = Date.now() - began;
    this.log(`built ${request.name} in ${(buildMs / 1000).toFixed(1)}s`);
    return { name: request.name, archive, bytes: statSync(archive).size, buildMs };
  }

  /** Imports the base's root file system into buildah's storage once. */
  private async ensureBase(): Promise<void> {
    if (await this.buildah(['inspect', '--type', 'image', this.baseImage]).then(() => true, () => false)) return;
    this.log(`importing ${this.baseImage} from ${this.options.baseRootfs}`);
    const container = (await this.buildah(['from', '--pull-never', 'scratch'])).trim();
    try {
      await this.buildah(['add', container, this.options.baseRootfs, '/']);
      await this.buildah(['config', '--env', 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
        '--cmd', 'node', '--label', `org.opencontainers.image.description=Debian bookworm with Node.js ${this.options.nodeVersion}, built here`, container]);
      await this.buildah(['commit', '--rm', container, this.baseImage]);
    } catch (error) {
      await this.buildah(['rm', container]).catch(() => undefined);
      throw error;
    }
  }

  /**
   * What RUN steps borrow from this machine, never kept in the image: its CA bundle and npm
   * registry settings (a network may inspect TLS with its own CA) and npm's download cache.
   */
  private buildVolumes(): string[] {
    const volumes: string[] = [];
    const npmrc: string[] = [];
    const ca = process.env['NODE_EXTRA_CA_CERTS'] ?? '/etc/ssl/certs/ca-certificates.crt';
    if (existsSync(ca)) {
      volumes.push('-v', `${ca}:/etc/clusterdns-build-ca.crt:ro`);
      npmrc.push('cafile=/etc/clusterdns-build-ca.crt');
    }
    const registry = process.env['npm_config_registry'];
    if (registry) npmrc.push(`registry=${registry}`);
    const npmrcFile = join(this.dir, 'build-npmrc');
    writeFileSync(npmrcFile, npmrc.map((line) => `${line}\n`).join(''));
    volumes.push('-v', `${npmrcFile}:/usr/local/etc/npmrc:ro`);
    const npmCache = join(this.dir, 'npm-cache');
    mkdirSync(npmCache, { recursive: true });
    volumes.push('-v', `${npmCache}:/root/.npm`);
    return volumes;
  }

  /** buildah with this cache's storage, in a mount namespace of its own: a killed build leaves no mount. */
  private async buildah(args: readonly string[]): Promise<string> {
    const storage = ['--root', join(this.dir, 'storage'), '--runroot', join(this.dir, 'run'), '--storage-driver', 'overlay'];
    try {
      const { stdout } = await run('unshare', ['--mount', '--propagation', 'private', '--', 'buildah', ...storage, ...args], { maxBuffer: 64 << 20 });
      return stdout;
    } catch (error) {
      const { stderr = '', stdout = '' } = error as { stderr?: string; stdout?: string };
      throw new Error(`buildah ${args[0] ?? ''} failed: ${(stderr || stdout).trim().split('\n').slice(-15).join('\n')}`, { cause: error });
    }
  }

  private async pruneLayerCache(): Promise<void> {
    const ids = (await this.buildah(['images', '--filter', 'dangling=true', '--filter', `until=${LAYER_CACHE_AGE}`, '--format', '{{.ID}}'])).trim().split('\n').filter(Boolean);
    // An image that a newer one still builds on is refused; that is fine.
    for (const id of ids) await this.buildah(['rmi', id]).catch(() => undefined);
  }

  private log(line: string): void {
    this.options.log?.(line);
  }
}

/**
 * Removes older archives of the image that `built` is (same name, another key) beyond the
 * newest few, once unused for an hour.
 */
export function pruneArchives(built: string): void {
  const dir = dirname(built);
  const prefix = built.slice(0, built.lastIndexOf('-') + 1);
  const now = Date.now();
  readdirSync(dir)
    .map((name) => join(dir, name))
    .filter((path) => path.startsWith(prefix) && path.endsWith('.oci.tar') && path.slice(prefix.length).indexOf('-') === -1)
    .map((path) => ({ path, mtimeMs: statSync(path).mtimeMs }))
    .sort((a, b) => b.mtimeMs - a.mtimeMs)
    .slice(ARCHIVES_KEPT)
    .filter((archive) => now - archive.mtimeMs > ARCHIVE_IDLE_MS)
    .forEach((archive) => { rmSync(archive.path, { force: true }); });
}

/** sha256 (16 hex) of the request's name, arguments, Dockerfile, inputs and base. */
export function inputHash(request: ImageRequest, baseRootfs: string): string {
  const hash = createHash('sha256');
  hash.update(JSON.stringify({ name: request.name, args: request.buildArgs ?? {}, base: existsSync(baseRootfs) ? statSync(baseRootfs).mtimeMs : 0 }));
  hash.update(readFileSync(request.dockerfile));
  for (const input of [...request.inputs].sort()) {
    for (const file of filesUnder(join(request.context, input))) {
      hash.update(relative(request.context, file));
      hash.update(readFileSync(file));
    }
  }
  return hash.digest('hex').slice(0, 16);
}

function filesUnder(path: string): string[] {
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path, { withFileTypes: true })
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((entry) => filesUnder(join(path, entry.name)));
}
