/**
 * The one control plane of an integration test run, and helpers for tests that use it.
 *
 * test/support/global-setup.ts starts it before the first test file and stops it after the
 * last; integration tests run in one process (--test-isolation=none) and reach it here.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { ControlPlane } from '../../src/local/control-plane.ts';
import { KubeClient, loadKubeConfig } from '../../src/kube/client.ts';

let plane: ControlPlane | undefined;

export async function startSharedControlPlane(): Promise<ControlPlane> {
  const log = (line: string): void => { process.stderr.write(`# control plane: ${line}\n`); };
  plane = await ControlPlane.start({ log });
  return plane;
}

export async function stopSharedControlPlane(): Promise<void> {
  await plane?.stop();
  plane = undefined;
}

export function controlPlane(): ControlPlane {
  if (!plane) throw new Error('no control plane: run integration tests with --test-global-setup=test/support/global-setup.ts');
  return plane;
}

export function kubeClient(): KubeClient {
  return new KubeClient(loadKubeConfig(controlPlane().kubeconfigPath));
}

export interface CommandResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the pinned kubectl against the shared control plane. Never throws on a non-zero exit. */
export function kubectl(args: readonly string[], input?: string): Promise<CommandResult> {
  const { binaries, kubeconfigPath } = controlPlane();
  return new Promise((resolve) => {
    const child = execFile(binaries.kubectl, [...args], { env: { ...process.env, KUBECONFIG: kubeconfigPath }, maxBuffer: 64 << 20 },
      (error, stdout, stderr) => { resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }); });
    if (input !== undefined) child.stdin?.end(input);
  });
}

/** kubectl that must succeed; returns stdout. */
export async function kubectlOk(args: readonly string[], input?: string): Promise<string> {
  const result = await kubectl(args, input);
  if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${result.code}): ${result.stderr}`);
  return result.stdout;
}

/** A new namespace with a unique name, once its default ServiceAccount exists (pods need it). */
export async function createNamespace(prefix: string, labels: Record<string, string> = {}): Promise<string> {
  const name = `${prefix}-${randomBytes(3).toString('hex')}`;
  const client = kubeClient();
  await client.request('POST', '/api/v1/namespaces', { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } } });
  await eventually(async () => {
    await client.request('GET', `/api/v1/namespaces/${name}/serviceaccounts/default`);
  }, { timeoutMs: 30_000, what: `default ServiceAccount in ${name}` });
  return name;
}

export interface EventuallyOptions {
  readonly timeoutMs?: number;
  readonly intervalMs?: number;
  readonly what?: string;
}

/**
 * Retries `check` (an assertion) until it passes; then returns its value. After the timeout,
 * rethrows the last failure so that the test says what was still wrong.
 */
export async function eventually<T>(check: () => Promise<T> | T, options: EventuallyOptions = {}): Promise<T> {
  const { timeoutMs = 30_000, intervalMs = 100 } = options;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) {
        const message = error instanceof Error ? error.message : String(error);
        throw new Error(`still failing after ${timeoutMs} ms${options.what ? ` (${options.what})` : ''}: ${message}`, { cause: error });
      }
    }
    await sleep(intervalMs);
  }
}
