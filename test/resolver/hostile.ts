/**
 * The frame of the hostile-traffic tests (test/integration/resolver-hostile-*.test.ts): a
 * real resolver process with two serving threads, an ordinary client that asks at a steady
 * rate while an attack runs, the RSS of the process read from /proc, and the drops the
 * resolver counted. The process runs in a memory cgroup of the Deployment's limit, as its pod
 * does (Node.js sizes its heap to it). Each attack must leave at least 99% of the ordinary
 * queries answered correctly, the process and its threads up, not one OOM kill, and what
 * the cgroup was charged under nine tenths of the limit.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { controlPlane, createNamespace, eventually, kubeClient } from '../support/cluster.ts';
import { encodeQuery, decodeResponse, render, tcpExchange, udpExchange } from '../dns/client.ts';
import type { Server } from '../dns/client.ts';
import { createMemoryLimit } from '../support/memory-limit.ts';
import type { MemoryLimit } from '../support/memory-limit.ts';
import { compiledMain } from './build.ts';
import { ResolverProcess } from './process.ts';
import type { StartOptions } from './process.ts';
import { UpstreamServer } from './upstream-server.ts';

/** The resolver Deployment's memory limit (src/controller/memory-sizing.ts DEFAULT_RESOURCES). */
export const MEMORY_LIMIT_MIB = 170;
const ORDINARY_PER_SECOND = 25;

export interface Question {
  readonly name: string;
  readonly type: string;
  /** The answer section as sorted zone-file lines. */
  readonly answer: readonly string[];
}

export interface OrdinaryOutcome {
  readonly asked: number;
  readonly answered: number;
  readonly failures: readonly string[];
}

/**
 * A client as a pod's stub resolver is one: a query every 1/rate seconds whatever the
 * others are doing, every fourth over TCP, each given two tries of a second (as glibc's
 * `attempts:2`, with a shorter timeout).
 */
export class OrdinaryClient {
  private readonly server: Server;
  private readonly questions: readonly Question[];
  private readonly pending: Array<Promise<void>> = [];
  private readonly failures: string[] = [];
  private asked = 0;
  private answered = 0;
  private running = false;
  private loop: Promise<void> | undefined;

  constructor(server: Server, questions: readonly Question[]) {
    this.server = server;
    this.questions = questions;
  }

  start(): void {
    this.running = true;
    this.loop = (async () => {
      const began = Date.now();
      for (let i = 0; this.running; i++) {
        const question = this.questions[i % this.questions.length];
        if (question) this.pending.push(this.ask(question, i % 4 === 3));
        const next = began + ((i + 1) * 1000) / ORDINARY_PER_SECOND;
        await sleep(Math.max(0, next - Date.now()));
      }
    })();
  }

  async stop(): Promise<OrdinaryOutcome> {
    this.running = false;
    await this.loop;
    await Promise.all(this.pending);
    return { asked: this.asked, answered: this.answered, failures: this.failures };
  }

  private async ask(question: Question, tcp: boolean): Promise<void> {
    this.asked++;
    let problem = 'no answer';
    for (let attempt = 0; attempt < 2; attempt++) {
      const message = encodeQuery(question.name, question.type, { edns: 1232 });
      const raw = tcp ? await tcpExchange(this.server, message, 1000) : await udpExchange(this.server, message, 1000);
      if (!raw) continue;
      try {
        const got = render(decodeResponse(raw));
        if (got.rcode === 'NOERROR' && JSON.stringify(got.answer) === JSON.stringify(question.answer)) {
          this.answered++;
          return;
        }
        problem = `${got.rcode} ${got.answer.join(', ')}`;
      } catch (error) {
        problem = `undecodable: ${error instanceof Error ? error.message : String(error)}`;
      }
    }
    if (this.failures.length < 10) this.failures.push(`${tcp ? 'tcp' : 'udp'} ${question.name} ${question.type}: ${problem}`);
  }
}

/** Resident memory of a process, from /proc (MiB). */
export function rssMiB(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : 0;
}

/**
 * The TCP connections the server holds on `port` now: ESTABLISHED sockets with that local
 * port in /proc/net/tcp (the server's side; a client cannot hide one by not reading).
 */
export function establishedOn(port: number): number {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  let count = 0;
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields[1]?.endsWith(hex) && fields[3] === '01') count++;
    }
  }
  return count;
}

/** The value of each series of a metric, by its label set as written (`reason="x"`). */
export function series(metrics: string, name: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const match of metrics.matchAll(new RegExp(`^${name}(?:\\{([^}]*)\\})? (\\S+)$`, 'gm'))) values.set(match[1] ?? '', Number(match[2]));
  return values;
}

/** Drops and closed connections by reason, as `dropped:reason` and `closed:reason`. */
function dropCounts(metrics: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const [metric, prefix] of [['clusterdns_resolver_dropped_total', 'dropped'], ['clusterdns_resolver_tcp_closed_total', 'closed']] as const) {
    for (const [labels, value] of series(metrics, metric)) counts.set(`${prefix}:${labels.replace(/^reason="(.*)"$/, '$1')}`, value);
  }
  return counts;
}

export interface AttackResult {
  readonly ordinary: OrdinaryOutcome;
  readonly rssBeforeMiB: number;
  readonly peakRssMiB: number;
  /** The cgroup's peak charge since the process started: what the memory limit limits. */
  readonly peakChargedMiB: number;
  /** What the resolver counted during the attack, by `dropped:reason` / `closed:reason` (only those that moved). */
  readonly drops: ReadonlyMap<string, number>;
}

export interface Target {
  readonly resolver: ResolverProcess;
  /** The cgroup it runs in. */
  readonly memory: MemoryLimit;
  readonly questions: readonly Question[];
}

/**
 * Runs `attack` while an ordinary client asks, then checks the promises of issue 9: at least
 * 99% of the ordinary queries answered correctly, the process up, no serving thread
 * restarted (or as many as the attack kills), the RSS under the limit. Prints one line for the table of attack classes.
 */
export async function underAttack(title: string, target: Target, attack: () => Promise<void>, expect: { readonly threadRestarts?: number } = {}): Promise<AttackResult> {
  const { resolver } = target;
  const restartsBefore = series(await resolver.metrics(), 'clusterdns_resolver_thread_restarts_total').get('') ?? 0;
  const dropsBefore = dropCounts(await resolver.metrics());
  const rssBeforeMiB = rssMiB(resolver.pid);
  let peakRssMiB = rssBeforeMiB;
  const sampler = setInterval(() => {
    if (!resolver.hasExited) peakRssMiB = Math.max(peakRssMiB, rssMiB(resolver.pid));
  }, 100);
  const client = new OrdinaryClient(resolver.server, target.questions);
  client.start();
  try {
    await sleep(300);
    await attack();
    await sleep(500);
  } finally {
    clearInterval(sampler);
  }
  const ordinary = await client.stop();
  assert.equal(resolver.hasExited, false, `the resolver is alive after ${title}:\n${resolver.logs.slice(-3000)}`);
  const metrics = await resolver.metrics();
  const drops = new Map<string, number>();
  for (const [reason, value] of dropCounts(metrics)) {
    const delta = value - (dropsBefore.get(reason) ?? 0);
    if (delta > 0) drops.set(reason, delta);
  }
  const share = ordinary.asked === 0 ? 0 : ordinary.answered / ordinary.asked;
  const restarts = (series(metrics, 'clusterdns_resolver_thread_restarts_total').get('') ?? 0) - restartsBefore;
  if (restarts > 0) drops.set('thread restarts', restarts);
  const peakChargedMiB = target.memory.peakBytes() / 2 ** 20;
  process.stderr.write(`# hostile | ${title} | ${ordinary.answered}/${ordinary.asked} (${(100 * share).toFixed(1)}%) | ${rssBeforeMiB.toFixed(0)} → ${peakRssMiB.toFixed(0)} MiB RSS, ${peakChargedMiB.toFixed(0)} MiB charged at most | ${[...drops].map(([r, n]) => `${r} ${n}`).join(', ') || 'none'}\n`);
  assert.ok(ordinary.asked >= 20, `the ordinary client asked ${ordinary.asked} times`);
  assert.ok(share >= 0.99, `${ordinary.answered} of ${ordinary.asked} ordinary queries answered correctly during ${title}: ${ordinary.failures.join('; ')}`);
  assert.equal(restarts, expect.threadRestarts ?? 0, 'serving threads restarted');
  // The limit limits the charge, not the RSS: the RSS also counts the pages of the node
  // binary (about 55 MiB), which the page cache holds and the kernel reclaims before it
  // would OOM-kill anything.
  assert.equal(target.memory.oomKills(), 0, `OOM kills in the ${MEMORY_LIMIT_MIB} MiB limit during ${title}`);
  assert.ok(peakChargedMiB < MEMORY_LIMIT_MIB * 0.9, `${peakChargedMiB.toFixed(0)} MiB charged at most during ${title}, in a limit of ${MEMORY_LIMIT_MIB} MiB`);
  return { ordinary, rssBeforeMiB, peakRssMiB, peakChargedMiB, drops };
}

export interface HostileSetup {
  readonly ns: string;
  readonly resolver: ResolverProcess;
  readonly memory: MemoryLimit;
  /** Its upstream, on loopback (nothing leaves the machine). */
  readonly upstream: UpstreamServer;
  readonly questions: Question[];
  /** `big.<ns>.svc.cluster.local`: a headless service with BIG_ENDPOINTS ready endpoints (an answer of about 5 KB). */
  readonly bigName: string;
}

export const BIG_ENDPOINTS = 300;

/**
 * A namespace with an ordinary ClusterIP service and a big headless one, and a resolver
 * (compiled, as the image runs it) with two serving threads that answers both, forwarding to a test upstream (or the one
 * given). `stop()` ends both.
 */
export async function startTarget(prefix: string, options: Omit<StartOptions, 'kubeconfig'> & { readonly upstream?: UpstreamServer } = {}): Promise<HostileSetup & { stop(): Promise<void> }> {
  const upstream = options.upstream ?? await UpstreamServer.start();
  const ns = await createNamespace(prefix);
  const client = kubeClient();
  await client.request('POST', `/api/v1/namespaces/${ns}/services`, { body: { apiVersion: 'v1', kind: 'Service', metadata: { name: 'ordinary' }, spec: { ports: [{ port: 80 }] } } });
  await client.request('POST', `/api/v1/namespaces/${ns}/services`, { body: { apiVersion: 'v1', kind: 'Service', metadata: { name: 'big' }, spec: { clusterIP: 'None', ports: [{ port: 80 }] } } });
  await client.request('POST', `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices`, {
    body: {
      apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 'big', labels: { 'kubernetes.io/service-name': 'big' } }, addressType: 'IPv4',
      endpoints: Array.from({ length: BIG_ENDPOINTS }, (_, i) => ({ addresses: [`10.253.${Math.floor(i / 250)}.${(i % 250) + 1}`], conditions: { ready: true } })),
      ports: [{ port: 80, protocol: 'TCP' }],
    },
  });
  const memory = createMemoryLimit(`clusterdns-test-${ns}`, MEMORY_LIMIT_MIB * 2 ** 20);
  assert.ok(memory, 'a memory cgroup can be made (the tests run as root)');
  const resolver = await ResolverProcess.start({
    // What the Deployment runs: compiled JavaScript, two serving threads, its memory limit.
    main: compiledMain(),
    cgroupProcs: memory.procsFile,
    ...options, kubeconfig: controlPlane().kubeconfigPath,
    config: { threads: 2, ...options.config, upstream: { nameservers: [upstream.address], ...(options.config?.['upstream'] as object | undefined) } },
  });
  const name = `ordinary.${ns}.svc.cluster.local`;
  const bigName = `big.${ns}.svc.cluster.local`;
  const answer = await eventually(async () => {
    const raw = await udpExchange(resolver.server, encodeQuery(name, 'A'), 1000);
    assert.ok(raw);
    const got = render(decodeResponse(raw));
    assert.equal(got.answer.length, 1);
    return got.answer;
  }, { timeoutMs: 30_000 });
  await eventually(async () => {
    const raw = await tcpExchange(resolver.server, encodeQuery(bigName, 'A'), 1000);
    assert.ok(raw);
    assert.equal(render(decodeResponse(raw)).answer.length, BIG_ENDPOINTS);
  }, { timeoutMs: 30_000 });
  const questions: Question[] = [
    { name, type: 'A', answer },
    { name: 'dns-version.cluster.local', type: 'TXT', answer: ['dns-version.cluster.local. 30 IN TXT "1.1.0"'] },
  ];
  return {
    ns, resolver, memory, upstream, questions, bigName,
    async stop() {
      await resolver.stop();
      memory.remove();
      if (!options.upstream) await upstream.stop();
    },
  };
}
