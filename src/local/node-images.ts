/**
 * The product's image for the real node, built here from the Dockerfile (image-build.ts),
 * tagged `<repository>:<version>` under the fully qualified name that config/manager and the
 * operator's `--resolver-image-repository` use, so that nothing needs to be pulled.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_IMAGE_REPOSITORY } from '../api/names.ts';
import { ensureBinaries } from './binaries.ts';
import { ImageBuilder } from './image-build.ts';
import type { BuiltImage, ImageRequest } from './image-build.ts';
import { cacheDir } from './binaries.ts';
import { readVersions, repositoryRoot } from './repo.ts';

/** What the Dockerfile's COPY steps take from the build context (COPY --from takes from a stage). */
export function dockerfileInputs(dockerfile: string): string[] {
  const inputs = new Set<string>();
  for (const line of dockerfile.replace(/\\\n/g, ' ').split('\n')) {
    const words = line.trim().split(/\s+/);
    if (words[0]?.toUpperCase() !== 'COPY' || words.some((w) => w.startsWith('--from='))) continue;
    const sources = words.slice(1, -1).filter((w) => !w.startsWith('--'));
    for (const source of sources) inputs.add(source.replace(/\/$/, ''));
  }
  return [...inputs].sort();
}

/** The product's version (package.json). */
export function productVersion(root = repositoryRoot()): string {
  return (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
}

/** An image builder on the cached node base (built on first use). */
export async function imageBuilder(log: (line: string) => void): Promise<ImageBuilder> {
  const binaries = await ensureBinaries(['node-base'], log);
  return new ImageBuilder({ cacheDir: cacheDir(), baseRootfs: binaries.nodeBaseRootfs, nodeVersion: readVersions().node, log });
}

/** The request that builds the product's image at `version` (its org.opencontainers.image.version label). */
export function clusterdnsImageRequest(version: string, root = repositoryRoot()): ImageRequest {
  const dockerfile = join(root, 'Dockerfile');
  return {
    name: `${DEFAULT_IMAGE_REPOSITORY}:${version}`,
    dockerfile,
    context: root,
    inputs: dockerfileInputs(readFileSync(dockerfile, 'utf8')),
    buildArgs: { VERSION: version },
  };
}

/** Builds (or finds) the product image for each version. */
export async function buildClusterdnsImages(versions: readonly string[], log: (line: string) => void): Promise<BuiltImage[]> {
  const builder = await imageBuilder(log);
  const images: BuiltImage[] = [];
  // One after the other: the second build reuses the first one's layers.
  for (const version of versions) images.push(await builder.build(clusterdnsImageRequest(version)));
  return images;
}
