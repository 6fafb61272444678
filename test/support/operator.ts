/**
 * Running the operator for real in tests and benchmarks: the CRD and the RBAC of config/
 * installed on a control plane, and `clusterdns operator` as a child process whose metrics,
 * health and logs a test can read and which it can stop or kill.
 *
 * Several suites share one control plane, so each operator gets its own namespace and
 * reconciles only the ClusterDNS objects labelled for its suite (`--selector`).
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { ControlPlane } from '../../src/local/control-plane.ts';
import { freePort, httpRequest } from '../../src/local/net.ts';
import { isOperatorWrite, parsePrometheus, sumOf } from './prometheus.ts';
import type { Sample } from './prometheus.ts';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const CRD_FILE = join(REPO_ROOT, 'crds/clusterdns.io_clusterdnses.yaml');
/** The label a suite puts on its ClusterDNS objects; its operator selects on it. */
export const SUITE_LABEL = 'test.clusterdns.io/suite';

/** kubectl against `plane`; resolves with stdout, rejects with stderr on failure. */
export function kubectlOn(plane: ControlPlane, args: readonly string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(plane.binaries.kubectl, [...args], { env: { ...process.env, KUBECONFIG: plane.kubeconfigPath }, maxBuffer: 64 << 20 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`kubectl ${args.join(' ')}: ${stderr || error.message}`));
        else resolve(stdout);
      });
    if (input !== undefined) child.stdin?.end(input);
  });
}

/** Installs (or updates) the CRD by server-side apply, idempotent across suites, and waits until it is served. */
export async function installCrd(plane: ControlPlane): Promise<void> {
  await kubectlOn(plane, ['apply', '--server-side', '--force-conflicts', '--field-manager=clusterdns-tests', '-f', CRD_FILE]);
  await kubectlOn(plane, ['wait', '--for=condition=Established', '--timeout=60s', 'crd/clusterdnses.clusterdns.io']);
}

interface RbacObject {
  kind: string;
  metadata: { name: string; namespace?: string };
  roleRef?: { name: string };
  subjects?: Array<{ kind: string; name: string; namespace?: string }>;
}

/**
 * config/rbac moved into `namespace`: namespaced objects move there, except those meant for
 * "default" (the events Role), which get a suffix, as do the ClusterRoleBindings; the
 * ClusterRoles keep their names (every suite applies the same rules).
 */
export function rbacFor(objects: readonly RbacObject[], namespace: string): RbacObject[] {
  const suffix = `-${namespace}`;
  return objects.map((object) => {
    const moved: RbacObject = structuredClone(object);
    const inDefault = moved.metadata.namespace === 'default';
    if (moved.metadata.namespace && !inDefault) moved.metadata.namespace = namespace;
    if (inDefault || moved.kind === 'ClusterRoleBinding') {
      moved.metadata.name += suffix;
      if (moved.roleRef && moved.kind === 'RoleBinding') moved.roleRef.name += suffix;
    }
    for (const subject of moved.subjects ?? []) if (subject.kind === 'ServiceAccount') subject.namespace = namespace;
    return moved;
  });
}

export interface InstalledRbac {
  /** A kubeconfig with the operator ServiceAccount's token: the operator runs with exactly its RBAC. */
  readonly operatorKubeconfig: string;
  uninstall(): Promise<void>;
}

/** Applies config/rbac for an operator in `namespace` (which must exist). */
export async function installRbac(plane: ControlPlane, namespace: string): Promise<InstalledRbac> {
  const list = JSON.parse(await kubectlOn(plane, ['apply', '-k', join(REPO_ROOT, 'config/rbac'), '--dry-run=client', '-o', 'json'])) as { items: RbacObject[] };
  const objects = rbacFor(list.items, namespace);
  await kubectlOn(plane, ['apply', '--server-side', '--force-conflicts', '--field-manager=clusterdns-tests', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }));
  const dir = mkdtempSync(join(tmpdir(), 'clusterdns-operator-test-'));
  const operatorKubeconfig = await serviceAccountKubeconfig(plane, namespace, 'clusterdns-operator', dir);
  return {
    operatorKubeconfig,
    async uninstall() {
      rmSync(dir, { recursive: true, force: true });
      const extra = objects.filter((o) => o.kind === 'ClusterRoleBinding' || o.metadata.namespace === 'default');
      for (const object of extra) {
        await kubectlOn(plane, ['delete', object.kind, object.metadata.name, ...(object.metadata.namespace ? ['-n', object.metadata.namespace] : []), '--ignore-not-found']);
      }
    },
  };
}

/**
 * Writes `<dir>/<account>.kubeconfig` with a token of ServiceAccount `namespace/account`:
 * a process run with it has exactly that account's RBAC.
 */
export async function serviceAccountKubeconfig(plane: ControlPlane, namespace: string, account: string, dir: string): Promise<string> {
  const token = (await kubectlOn(plane, ['create', 'token', account, '-n', namespace, '--duration=2h'])).trim();
  const admin = JSON.parse(await kubectlOn(plane, ['config', 'view', '--raw', '-o', 'json'])) as { clusters: Array<{ cluster: Record<string, string> }> };
  const kubeconfig = {
    apiVersion: 'v1', kind: 'Config', 'current-context': account,
    clusters: [{ name: 'local', cluster: admin.clusters[0]?.cluster ?? {} }],
    users: [{ name: account, user: { token } }],
    contexts: [{ name: account, context: { cluster: 'local', user: account, namespace } }],
  };
  const path = join(dir, `${account}.kubeconfig`);
  writeFileSync(path, JSON.stringify(kubeconfig), { mode: 0o600 });
  return path;
}

export interface OperatorProcessOptions {
  readonly kubeconfig: string;
  readonly namespace: string;
  readonly selector?: string;
  readonly leaderElect?: boolean;
  readonly extraArgs?: readonly string[];
}

/** `clusterdns operator` as a child process. */
export class OperatorProcess {
  readonly metricsUrl: string;
  readonly healthUrl: string;
  private readonly child: ChildProcess;
  private output = '';
  private exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private readonly exited: Promise<void>;

  private constructor(child: ChildProcess, metricsPort: number, healthPort: number) {
    this.child = child;
    this.metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
    this.healthUrl = `http://127.0.0.1:${healthPort}`;
    child.stdout?.on('data', (chunk: Buffer) => { this.output += chunk.toString('utf8'); });
    child.stderr?.on('data', (chunk: Buffer) => { this.output += chunk.toString('utf8'); });
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exit = { code, signal };
        resolve();
      });
    });
  }

  static async start(options: OperatorProcessOptions): Promise<OperatorProcess> {
    const metricsPort = await freePort();
    const healthPort = await freePort();
    const args = [
      join(REPO_ROOT, 'src/cli/main.ts'), 'operator',
      '--kubeconfig', options.kubeconfig,
      '--namespace', options.namespace,
      `--leader-elect=${options.leaderElect ?? false}`,
      '--metrics-addr', `127.0.0.1:${metricsPort}`,
      '--health-addr', `127.0.0.1:${healthPort}`,
      '--webhook=false',
      ...(options.selector ? ['--selector', options.selector] : []),
      ...(options.extraArgs ?? []),
    ];
    const child = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    const operator = new OperatorProcess(child, metricsPort, healthPort);
    await operator.waitUntil(async () => (await httpRequest({ url: `${operator.healthUrl}/readyz` })).status === 200, 30_000, 'its /readyz');
    return operator;
  }

  get pid(): number {
    return this.child.pid ?? 0;
  }

  /** Exit code once it exited (null if a signal ended it); undefined while it runs. */
  get exitCode(): number | null | undefined {
    return this.exit?.code;
  }

  get logs(): string {
    return this.output;
  }

  async metrics(): Promise<Sample[]> {
    const response = await httpRequest({ url: this.metricsUrl });
    if (response.status !== 200) throw new Error(`${this.metricsUrl}: ${response.status}`);
    return parsePrometheus(response.body);
  }

  async metric(name: string, where?: (labels: Readonly<Record<string, string>>) => boolean): Promise<number> {
    return sumOf(await this.metrics(), name, where);
  }

  /** 1 while it leads. */
  async leading(): Promise<boolean> {
    return (await this.metric('leader_election_master_status')) === 1;
  }

  /** Resolves once the process exited; gives up after `timeoutMs`. */
  async waitForExit(timeoutMs: number): Promise<{ code: number | null; signal: NodeJS.Signals | null } | undefined> {
    await Promise.race([this.exited, sleep(timeoutMs)]);
    return this.exit;
  }

  /** SIGTERM, then SIGKILL if it does not stop in time. Safe to call when it has exited. */
  async stop(timeoutMs = 20_000): Promise<void> {
    if (this.exit) return;
    this.child.kill('SIGTERM');
    if (!(await this.waitForExit(timeoutMs))) this.kill();
    await this.exited;
  }

  /** SIGKILL: the process dies without a chance to hand anything over. */
  kill(): void {
    if (!this.exit) this.child.kill('SIGKILL');
  }

  private async waitUntil(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.exit) throw new Error(`the operator exited (${JSON.stringify(this.exit)}) before ${what} passed:\n${this.output.slice(-3000)}`);
      try {
        if (await check()) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`the operator's ${what} did not pass within ${timeoutMs} ms:\n${this.output.slice(-3000)}`);
      await sleep(200);
    }
  }
}

/** Write requests the apiserver has counted for the operator's resources since it started (see isOperatorWrite). */
export async function apiserverOperatorWrites(plane: ControlPlane): Promise<number> {
  const response = await plane.api('GET', '/metrics');
  if (response.status !== 200) throw new Error(`apiserver /metrics: ${response.status}`);
  return sumOf(parsePrometheus(response.body), 'apiserver_request_total', isOperatorWrite);
}

