/**
 * Child processes of the local control plane: each writes to its own log file, is stopped
 * with SIGTERM and then SIGKILL, and is listed in a reaper file so that a watchdog process
 * can stop it when its parent dies without cleaning up (SIGKILL, a crash, a killed test run).
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

/**
 * What the watchdog must clean up: process group ids, directories, and for a real node its
 * cgroup tree (every process in it is killed, then the cgroups removed) and the host end of
 * its veth pair.
 */
export interface ReaperState {
  pids: number[];
  dirs: string[];
  cgroups: string[];
  links: string[];
}

/** Keeps the reaper file in step with the processes started, and starts the watchdog. */
export class Reaper {
  private readonly state: ReaperState = { pids: [], dirs: [], cgroups: [], links: [] };
  private readonly file: string;
  private watchdog: ChildProcess | undefined;

  private constructor(file: string) {
    this.file = file;
  }

  /** Starts a detached watchdog that cleans up what `file` lists once this process is gone. */
  static start(file: string, dirs: string[]): Reaper {
    const reaper = new Reaper(file);
    reaper.state.dirs.push(...dirs);
    reaper.save();
    const script = fileURLToPath(new URL(import.meta.url.endsWith('.ts') ? './reaper-main.ts' : './reaper-main.js', import.meta.url));
    reaper.watchdog = spawn(process.execPath, [script, String(process.pid), file], { detached: true, stdio: 'ignore' });
    reaper.watchdog.unref();
    return reaper;
  }

  /** Ends the watchdog once everything it guards has been cleaned up by its parent. */
  dismiss(): void {
    this.watchdog?.kill('SIGTERM');
    this.watchdog = undefined;
  }

  add(pid: number): void {
    this.state.pids.push(pid);
    this.save();
  }

  remove(pid: number): void {
    this.state.pids = this.state.pids.filter((p) => p !== pid);
    this.save();
  }

  /** A cgroup path (as `/clusterdns-<run>`) whose processes die, and which goes, with the parent. */
  addCgroup(path: string): void {
    this.state.cgroups.push(path);
    this.save();
  }

  /** A network interface of this machine that goes with the parent. */
  addLink(name: string): void {
    this.state.links.push(name);
    this.save();
  }

  private save(): void {
    writeFileSync(this.file, JSON.stringify(this.state));
  }
}

export function readReaperState(file: string): ReaperState {
  const state = JSON.parse(readFileSync(file, 'utf8')) as Partial<ReaperState>;
  return { pids: state.pids ?? [], dirs: state.dirs ?? [], cgroups: state.cgroups ?? [], links: state.links ?? [] };
}

export interface ProcessSpec {
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly logFile: string;
  readonly env?: NodeJS.ProcessEnv;
}

/** A started child process. */
export class ManagedProcess {
  readonly spec: ProcessSpec;
  private readonly child: ChildProcess;
  private readonly reaper: Reaper | undefined;
  private exitCode: number | null | undefined;
  private readonly exited: Promise<void>;

  private constructor(spec: ProcessSpec, child: ChildProcess, reaper: Reaper | undefined) {
    this.spec = spec;
    this.child = child;
    this.reaper = reaper;
    this.exited = once(child, 'exit').then(([code]) => {
      this.exitCode = code as number | null;
      if (child.pid !== undefined) reaper?.remove(child.pid);
    });
  }

  /**
   * Spawns the process in its own process group (so a terminal's Ctrl-C reaches only us, and
   * we stop the parts in order) with stdout and stderr appended to `spec.logFile`.
   */
  static start(spec: ProcessSpec, reaper?: Reaper): ManagedProcess {
    const log = openSync(spec.logFile, 'a');
    try {
      const child = spawn(spec.command, spec.args, { detached: true, stdio: ['ignore', log, log], env: spec.env ?? process.env });
      if (child.pid === undefined) throw new Error(`could not start ${spec.name} (${spec.command})`);
      // A running part must not keep its parent alive (the test runner waits for an idle event
      // loop before its teardown); stop() holds the loop with its kill timer while it waits.
      child.unref();
      reaper?.add(child.pid);
      return new ManagedProcess(spec, child, reaper);
    } finally {
      closeSync(log);
    }
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** True once the process has exited; `exitDescription` says how. */
  get hasExited(): boolean {
    return this.exitCode !== undefined;
  }

  get exitDescription(): string {
    return this.hasExited ? `${this.spec.name} exited with code ${String(this.exitCode)}` : `${this.spec.name} is running`;
  }

  /** SIGTERM to the process group, SIGKILL after `graceMs`; resolves once it has exited. */
  async stop(graceMs = 5000): Promise<void> {
    if (this.hasExited) return;
    // Held until the exit is seen: after the SIGKILL timer has fired, nothing else may keep
    // the event loop alive to receive it.
    this.child.ref();
    signalGroup(this.pid, 'SIGTERM');
    const timer = setTimeout(() => { signalGroup(this.pid, 'SIGKILL'); }, graceMs);
    await this.exited;
    clearTimeout(timer);
    this.reaper?.remove(this.pid);
  }

  /** Kills the process at once, as a crash would. */
  async kill(): Promise<void> {
    if (this.hasExited) return;
    this.child.ref();
    signalGroup(this.pid, 'SIGKILL');
    await this.exited;
  }
}

/** Whether a process with this pid exists (one of another user counts). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone: nothing to stop.
  }
}
