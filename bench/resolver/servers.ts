/**
 * The servers under test, each started on loopback and pinned to the same cores: the
 * resolver (compiled to JavaScript, as the image runs it), CoreDNS (the kubeadm Corefile,
 * out of cluster) and dnsmasq (a hosts file of the same names). Also the upstream all three
 * forward external names to: another dnsmasq.
 */
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { closeSync, copyFileSync, openSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, httpRequest, waitFor } from '../../src/local/net.ts';
import { ask } from '../../test/dns/client.ts';

export interface RunningServer {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly pid: number;
  /** Milliseconds from start until it answered the cluster (ready). */
  readonly readyMs: number;
  /** The resolver's health endpoint (`http://127.0.0.1:PORT`), where /shadow is. */
  readonly healthUrl?: string;
  /** The resolver's /metrics (`http://127.0.0.1:PORT/metrics`). */
  readonly metricsUrl?: string;
  stop(): Promise<void>;
}

export interface ServerStart {
  readonly dir: string;
  readonly cpus: string;
  readonly log: (line: string) => void;
  /** A memory cgroup's `cgroup.procs` to run in (memory-limit.ts), as a pod runs within its limit. */
  readonly cgroupProcs?: string;
}

/** Starts `command` on `cpus`; with `cgroupProcs`, in that cgroup from its first instruction (the shell joins, then execs). */
function launch(name: string, dir: string, cpus: string, command: string, args: readonly string[], env?: NodeJS.ProcessEnv, cgroupProcs?: string): ChildProcess {
  const out = openSync(join(dir, `${name}.log`), 'a');
  try {
    const pinned = ['taskset', '-c', cpus, command, ...args];
    const [program, ...rest] = cgroupProcs ? ['sh', '-c', 'echo $$ > "$0" && exec "$@"', cgroupProcs, ...pinned] : pinned;
    return spawn(program ?? 'taskset', rest, { stdio: ['ignore', out, out], env: env ?? process.env });
  } finally {
    closeSync(out);
  }
}

function stopper(child: ChildProcess): () => Promise<void> {
  return async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => { child.once('exit', () => { resolve(); }); });
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
}

function exitReason(child: ChildProcess, name: string): () => string | undefined {
  return () => {
    if (child.exitCode !== null) return `${name} exited with ${child.exitCode}`;
    return child.signalCode !== null ? `${name} was killed by ${child.signalCode}` : undefined;
  };
}

async function started(name: string, child: ChildProcess, port: number, began: number, ready: () => Promise<boolean>): Promise<RunningServer> {
  await waitFor(name, ready, 300_000, exitReason(child, name));
  return { name, host: '127.0.0.1', port, pid: child.pid ?? -1, readyMs: Date.now() - began, stop: stopper(child) };
}

/** Ready once `name` gets a positive answer (dnsmasq, and a check that each server answers the cluster). */
async function answers(port: number, name: string): Promise<boolean> {
  const response = await ask({ host: '127.0.0.1', port }, name, 'A', { timeoutMs: 500 });
  return (response.answers?.length ?? 0) > 0;
}

/**
 * Compiles the resolver of the checkout at `root` into `out` as the image ships it
 * (JavaScript, not type-stripped TypeScript), with this checkout's compiler and
 * dependencies; returns its entry point.
 */
export function compileResolver(root: string, out: string): string {
  const here = fileURLToPath(new URL('../../', import.meta.url));
  execFileSync(join(here, 'node_modules/.bin/tsc'), ['-p', join(root, 'tsconfig.build.json'), '--outDir', out], { stdio: 'inherit' });
  copyFileSync(join(root, 'package.json'), join(out, 'package.json'));
  symlinkSync(join(here, 'node_modules'), join(out, 'node_modules'));
  return join(out, 'src/cli/main.js');
}

export interface ResolverStart extends ServerStart {
  readonly main: string;
  readonly kubeconfig: string;
  readonly upstream: string;
  readonly probe: string;
  readonly name?: string;
  /** More of the resolver's configuration (such as `shadow`). */
  readonly config?: Readonly<Record<string, unknown>>;
}

export async function startResolver(options: ResolverStart): Promise<RunningServer> {
  const ports = { port: await freePort(), healthPort: await freePort(), readyPort: await freePort(), metricsPort: await freePort() };
  const config = join(options.dir, `resolver${options.name ? `-${options.name}` : ''}.json`);
  writeFileSync(config, JSON.stringify({ listenAddress: '127.0.0.1', ...ports, upstream: { nameservers: [options.upstream] }, logLevel: 'warn', lameduckSeconds: 0, ...options.config }));
  const began = Date.now();
  const child = launch('clusterdns-resolver', options.dir, options.cpus, process.execPath, [options.main, 'resolver', '--config', config, '--kubeconfig', options.kubeconfig], undefined, options.cgroupProcs);
  const server = await started('clusterdns resolver', child, ports.port, began, async () =>
    (await httpRequest({ url: `http://127.0.0.1:${ports.readyPort}/ready` })).status === 200 && answers(ports.port, options.probe));
  return { ...server, healthUrl: `http://127.0.0.1:${ports.healthPort}`, metricsUrl: `http://127.0.0.1:${ports.metricsPort}/metrics` };
}

/** `gomaxprocs`: the Go runtime's threads (GOMAXPROCS); by default one per core it may use. */
export async function startCoredns(options: ServerStart & { readonly binary: string; readonly kubeconfig: string; readonly upstream: string; readonly probe: string; readonly gomaxprocs?: number }): Promise<RunningServer> {
  const port = await freePort();
  const [health, ready, metrics] = [await freePort(), await freePort(), await freePort()];
  // kubeadm's server block (dns-behaviour.md), out of cluster: loop and reload left out
  // (they do nothing per query), everything that runs per query kept.
  const corefile = `.:${port} {
    bind 127.0.0.1
    errors
    health 127.0.0.1:${health} {
        lameduck 5s
    }
    ready 127.0.0.1:${ready}
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        kubeconfig ${options.kubeconfig}
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
        ttl 30
    }
    prometheus 127.0.0.1:${metrics}
    forward . ${options.upstream} {
        max_concurrent 1000
    }
    cache 30 {
        disable success cluster.local
        disable denial cluster.local
    }
    loadbalance
}
`;
  writeFileSync(join(options.dir, 'Corefile'), corefile);
  const began = Date.now();
  const env = options.gomaxprocs ? { ...process.env, GOMAXPROCS: String(options.gomaxprocs) } : undefined;
  const child = launch('coredns', options.dir, options.cpus, options.binary, ['-conf', join(options.dir, 'Corefile')], env, options.cgroupProcs);
  return started('CoreDNS', child, port, began, async () =>
    (await httpRequest({ url: `http://127.0.0.1:${ready}/ready` })).status === 200 && answers(port, options.probe));
}

/** dnsmasq answering `hostsFile` itself and forwarding the rest to `upstream` (host#port) with its cache. */
export async function startDnsmasq(options: ServerStart & { readonly name: string; readonly hostsFile: string; readonly upstream?: string; readonly probe: string; readonly localTtl: number }): Promise<RunningServer> {
  const port = await freePort();
  const args = [
    '--keep-in-foreground', `--port=${port}`, '--listen-address=127.0.0.1', '--bind-interfaces', '--no-resolv', '--no-hosts',
    `--addn-hosts=${options.hostsFile}`, `--local-ttl=${options.localTtl}`, '--cache-size=10000', '--dns-forward-max=1000',
    '--pid-file=', '--log-facility=-', '--user=root',
    ...(options.upstream ? [`--server=${options.upstream}`] : []),
  ];
  const began = Date.now();
  const child = launch(options.name, options.dir, options.cpus, 'dnsmasq', args);
  return started(options.name, child, port, began, () => answers(port, options.probe));
}
