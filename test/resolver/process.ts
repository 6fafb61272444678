/**
 * The resolver as a real child process (`node src/cli/main.ts resolver --config ...`), so
 * that tests exercise the command itself: config file, kubeconfig, ports, signals.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { freePort, httpRequest, waitFor } from '../../src/local/net.ts';

export interface ResolverPorts {
  readonly port: number;
  readonly healthPort: number;
  readonly readyPort: number;
  readonly metricsPort: number;
}

export interface StartOptions {
  /** Merged into the config file (listen address and ports are filled in). */
  readonly config?: Record<string, unknown>;
  readonly kubeconfig: string;
  /** Wait for /ready to answer 200 (default true). */
  readonly waitReady?: boolean;
  /** Written verbatim instead of JSON of `config` (to test YAML and bad files). */
  readonly configText?: string;
  readonly configName?: string;
  /** Flags for node itself, before the script (e.g. `--inspect=127.0.0.1:PORT`). */
  readonly nodeArgs?: readonly string[];
  /** The entry point: the TypeScript sources (default) or a compiled build (build.ts). */
  readonly main?: string;
  /** A memory cgroup's `cgroup.procs` (test/support/memory-limit.ts): the process runs in it from its first instruction, as in a pod with a limit. */
  readonly cgroupProcs?: string;
}

const ROOT = new URL('../../', import.meta.url);

export class ResolverProcess {
  readonly ports: ResolverPorts;
  readonly server: { readonly host: string; readonly port: number };
  readonly output: string[] = [];
  private readonly child: ChildProcess;
  private readonly dir: string;
  private readonly exited: Promise<number | null>;
  private exitCode: number | null | undefined;

  private constructor(child: ChildProcess, dir: string, ports: ResolverPorts) {
    this.child = child;
    this.dir = dir;
    this.ports = ports;
    this.server = { host: '127.0.0.1', port: ports.port };
    for (const stream of [child.stdout, child.stderr]) stream?.on('data', (chunk: Buffer) => this.output.push(chunk.toString()));
    this.exited = once(child, 'exit').then(([code]) => {
      this.exitCode = code as number | null;
      return this.exitCode;
    });
  }

  static async start(options: StartOptions): Promise<ResolverProcess> {
    const ports: ResolverPorts = { port: await freePort(), healthPort: await freePort(), readyPort: await freePort(), metricsPort: await freePort() };
    const dir = mkdtempSync(join(tmpdir(), 'clusterdns-resolver-test-'));
    const file = join(dir, options.configName ?? 'resolver.json');
    writeFileSync(file, options.configText ?? JSON.stringify({ listenAddress: '127.0.0.1', ...ports, lameduckSeconds: 1, ...options.config }));
    const command = [process.execPath, ...(options.nodeArgs ?? []), options.main ?? 'src/cli/main.ts', 'resolver', '--config', file, '--kubeconfig', options.kubeconfig];
    // The shell joins the cgroup, then becomes the resolver (exec keeps the pid).
    const [program, ...args] = options.cgroupProcs ? ['sh', '-c', 'echo $$ > "$0" && exec "$@"', options.cgroupProcs, ...command] : command;
    const child = spawn(program ?? process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    const resolver = new ResolverProcess(child, dir, ports);
    if (options.waitReady ?? true) await resolver.waitReady();
    return resolver;
  }

  get logs(): string {
    return this.output.join('');
  }

  get pid(): number {
    const pid = this.child.pid;
    if (pid === undefined) throw new Error('the resolver process has no pid');
    return pid;
  }

  get hasExited(): boolean {
    return this.exitCode !== undefined;
  }

  async waitReady(timeoutMs = 60_000): Promise<void> {
    await waitFor('resolver /ready', async () => (await this.http(this.ports.readyPort, '/ready')).status === 200, timeoutMs,
      () => (this.hasExited ? `the resolver exited with ${String(this.exitCode)}:\n${this.logs}` : undefined));
  }

  http(port: number, path: string): Promise<{ status: number; body: string }> {
    return httpRequest({ url: `http://127.0.0.1:${port}${path}` });
  }

  async metrics(): Promise<string> {
    return (await this.http(this.ports.metricsPort, '/metrics')).body;
  }

  /** Sends a signal; resolves with the exit code. */
  async signal(signal: NodeJS.Signals): Promise<number | null> {
    if (!this.hasExited) this.child.kill(signal);
    return this.exited;
  }

  waitExit(): Promise<number | null> {
    return this.exited;
  }

  /** Stops the process (SIGKILL after 10 s) and removes its files. */
  async stop(): Promise<void> {
    if (!this.hasExited) {
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
      await this.exited;
      clearTimeout(timer);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
