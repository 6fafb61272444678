/**
 * CoreDNS releases as local mode and the tests run them: `coredns-vX.Y.Z/coredns` in the
 * binary cache, built by `hack/build-binaries.sh coredns@X.Y.Z` from the Go module proxy the
 * first time a release is asked for (a few minutes, with progress), then found at once.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { BuildError, cacheDir, runBuild } from './binaries.ts';
import { repositoryRoot } from './repo.ts';

/** The exit code of hack/build-binaries.sh for a release the proxy does not have. */
const NOT_ON_PROXY = 3;

/** Where CoreDNS `version` (X.Y.Z) is, or will be once built. */
export function corednsBinaryPath(version: string, env: NodeJS.ProcessEnv = process.env): string {
  return join(cacheDir(env), `coredns-v${version}`, 'coredns');
}

/** A CoreDNS release could not be built; the message names it and says why. */
export class CoreDNSBuildError extends Error {
  readonly version: string;

  constructor(version: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'CoreDNSBuildError';
    this.version = version;
  }
}

export interface CoreDNSBuildsOptions {
  /** Progress lines of a build. */
  readonly log: (line: string) => void;
  /** Runs the build script; injected by tests. */
  readonly build?: (version: string, log: (line: string) => void) => Promise<void>;
  readonly exists?: (path: string) => boolean;
}

/** Where a release stands in this process. */
export type BuildState =
  | { readonly kind: 'built'; readonly path: string }
  | { readonly kind: 'building' }
  | { readonly kind: 'failed'; readonly error: CoreDNSBuildError }
  | { readonly kind: 'absent' };

/**
 * The CoreDNS binaries of one process: each release is built at most once at a time, and a
 * failed build is remembered (a release the proxy does not have stays unknown).
 */
export class CoreDNSBuilds {
  private readonly options: CoreDNSBuildsOptions;
  private readonly builds = new Map<string, Promise<string>>();
  private readonly failures = new Map<string, CoreDNSBuildError>();

  constructor(options: CoreDNSBuildsOptions) {
    this.options = options;
  }

  /** The path of CoreDNS `version`, built first if it is not cached. Rejects with a CoreDNSBuildError. */
  ensure(version: string): Promise<string> {
    const state = this.state(version);
    if (state.kind === 'built') return Promise.resolve(state.path);
    if (state.kind === 'failed') return Promise.reject(state.error);
    let build = this.builds.get(version);
    if (!build) {
      build = this.build(version).then(() => corednsBinaryPath(version), (error: unknown) => {
        const failure = error instanceof CoreDNSBuildError ? error : new CoreDNSBuildError(version, `CoreDNS ${version} could not be built: ${String(error)}`);
        this.failures.set(version, failure);
        throw failure;
      }).finally(() => { this.builds.delete(version); });
      this.builds.set(version, build);
    }
    return build;
  }

  /** Where `version` stands, without starting anything. */
  state(version: string): BuildState {
    const path = corednsBinaryPath(version);
    if ((this.options.exists ?? existsSync)(path)) return { kind: 'built', path };
    const failure = this.failures.get(version);
    if (failure) return { kind: 'failed', error: failure };
    return this.builds.has(version) ? { kind: 'building' } : { kind: 'absent' };
  }

  private async build(version: string): Promise<void> {
    const { log } = this.options;
    log(`building CoreDNS ${version} from the Go module proxy (the first time for a release takes a few minutes)`);
    const began = Date.now();
    const lines: string[] = [];
    const collect = (line: string): void => {
      lines.push(line);
      log(line);
    };
    try {
      await (this.options.build ?? defaultBuild)(version, collect);
    } catch (error) {
      if (error instanceof BuildError && error.exitCode === NOT_ON_PROXY) {
        throw new CoreDNSBuildError(version, `CoreDNS ${version} is not a release on the Go module proxy`, { cause: error });
      }
      const last = lines.slice(-3).join(' | ');
      throw new CoreDNSBuildError(version, `CoreDNS ${version} could not be built${last ? `: ${last}` : ''}`, { cause: error });
    }
    if (!(this.options.exists ?? existsSync)(corednsBinaryPath(version))) {
      throw new CoreDNSBuildError(version, `CoreDNS ${version} was built but ${corednsBinaryPath(version)} is missing`);
    }
    log(`CoreDNS ${version} built in ${((Date.now() - began) / 1000).toFixed(0)}s`);
  }
}

function defaultBuild(version: string, log: (line: string) => void): Promise<void> {
  return runBuild(repositoryRoot(), [`coredns@${version}`], log);
}
