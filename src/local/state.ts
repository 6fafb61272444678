/**
 * Local mode's files in `.clusterdns/` of the checkout: a lock that keeps a second
 * `clusterdns local` from starting beside a running one, and `local.json`, the facts a
 * script needs (kubeconfig, apiserver, kube-dns and each instance with its loopback resolver).
 */
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isAlive } from './process.ts';

export interface LocalState {
  readonly pid: number;
  readonly kubeconfig: string;
  readonly kubectl: string;
  readonly apiserver: string;
  readonly instances: ReadonlyArray<{
    readonly name: string;
    readonly engine: 'clusterdns' | 'coredns';
    readonly version: string;
    readonly clusterIP: string;
    readonly clusterDomain: string;
    /** `127.0.0.1:<port>`, UDP and TCP ("" while it has never run). */
    readonly resolver: string;
    readonly ready: boolean;
    /** Why it is not served as asked (a CoreDNS release being built, one that does not exist, ...). */
    readonly error?: string;
  }>;
  /** With `--node real`: the process whose network namespace is the node's, and the node IP. */
  readonly node?: { readonly pid: number; readonly address: string };
}

/** Another local mode holds the lock. */
export class AlreadyRunningError extends Error {
  readonly pid: number;

  constructor(pid: number, lockFile: string) {
    super(`clusterdns local is already running (pid ${pid}); stop it with Ctrl-C, or remove ${lockFile} if that process is gone`);
    this.name = 'AlreadyRunningError';
    this.pid = pid;
  }
}

export class LocalStateDir {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  get lockFile(): string {
    return join(this.dir, 'local.pid');
  }

  get stateFile(): string {
    return join(this.dir, 'local.json');
  }

  /** Takes the lock for this process; a lock of a process that is gone is taken over. */
  lock(pid = process.pid): void {
    mkdirSync(this.dir, { recursive: true });
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        writeFileSync(this.lockFile, `${pid}\n`, { flag: 'wx' });
        return;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        const holder = Number(readFileSync(this.lockFile, 'utf8').trim());
        if (Number.isInteger(holder) && holder > 0 && holder !== pid && isAlive(holder)) throw new AlreadyRunningError(holder, this.lockFile);
        rmSync(this.lockFile, { force: true });
      }
    }
    throw new Error(`could not take ${this.lockFile}`);
  }

  /** Writes local.json atomically (a reader never sees half a file). */
  write(state: LocalState): void {
    const temp = `${this.stateFile}.tmp`;
    writeFileSync(temp, JSON.stringify(state, null, 2) + '\n');
    renameSync(temp, this.stateFile);
  }

  /** The running local mode's facts, if one runs. */
  read(): LocalState | undefined {
    try {
      const state = JSON.parse(readFileSync(this.stateFile, 'utf8')) as LocalState;
      return isAlive(state.pid) ? state : undefined;
    } catch {
      return undefined;
    }
  }

  /** Removes the state file and the lock. */
  clear(): void {
    rmSync(this.stateFile, { force: true });
    rmSync(this.lockFile, { force: true });
  }
}
