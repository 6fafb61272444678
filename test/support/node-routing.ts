/**
 * Routing with real packets on the real node: a pod the webhook injected queries its
 * instance's clusterIP at a steady rate over UDP (dns-load.ts) while the test switches who
 * answers there, and tells the two sides apart by the TTL of the answer: the instance is
 * given `spec.ttl: INSTANCE_TTL`, while kube-dns (kubeadm's Corefile, every instance's
 * default baseline) answers the cluster zone with 30 and caches nothing there. The metrics of
 * each side's pods are the second witness.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { CLUSTERDNS_PATH } from '../../src/api/names.ts';
import { waitFor } from '../../src/local/net.ts';
import { KUBE_DNS } from '../../src/local/kube-dns.ts';
import { injectedLoadPod, lastReport, ttlChanges, windowOf } from './dns-load.ts';
import type { LoadWindow, TtlChange } from './dns-load.ts';
import { createPod, dnsRequests, getPod, podLog, resolverPods, waitForPodReady } from './node-pods.ts';
import type { PodStatus } from './node-pods.ts';
import type { NodeUnderTest } from './real-node.ts';

/** kubeadm's `ttl 30`: an answer with it came from kube-dns. */
export const BASELINE_TTL = 30;
/** An instance's `spec.ttl` in these tests: an answer with it came from the instance. */
export const INSTANCE_TTL = 7;
export const QUERY = 'kubernetes.default.svc.cluster.local';
/**
 * How long after the first answer from the new side the old side may still answer a few
 * lookups. The Service's endpoints never mix (the control-plane routing tests show it at the
 * slice), but packets can: a lookup whose source port an earlier one used rides the UDP
 * conntrack flow to the old side until kube-proxy clears the flows of endpoints that left the
 * Service (seen here: up to ~1.6 s). Those lookups are answered all the same.
 */
export const SETTLE_MS = 3000;
/** The load's rate, queries per second. */
export const RATE = 100;

export interface ServingStatus {
  readonly serving?: string;
  readonly reason?: string;
  readonly deleting: boolean;
}

/** status.serving and the Serving condition's reason; undefined once the ClusterDNS is gone. */
export async function servingOf(h: NodeUnderTest, instance: string): Promise<ServingStatus | undefined> {
  const cr = await h.client.request<{ metadata: { deletionTimestamp?: string }; status?: { serving?: string; conditions?: Array<{ type: string; reason?: string }> } }>(
    'GET', `${CLUSTERDNS_PATH}/${instance}`).catch(() => undefined);
  if (!cr) return undefined;
  return { serving: cr.status?.serving, reason: cr.status?.conditions?.find((c) => c.type === 'Serving')?.reason, deleting: cr.metadata.deletionTimestamp !== undefined };
}

/** Waits until status.serving is `serving` (and the reason, if given); resolves with when it was seen. */
export async function waitServing(h: NodeUnderTest, instance: string, serving: string, reason?: string, timeoutMs = 180_000): Promise<number> {
  let last: ServingStatus | undefined;
  await waitFor(`${instance} serving ${serving}${reason ? ` (${reason})` : ''}`, async () => {
    last = await servingOf(h, instance);
    return last?.serving === serving && (reason === undefined || last.reason === reason);
  }, timeoutMs).catch((error: unknown) => { throw new Error(`${String(error)}; last seen ${JSON.stringify(last)}`); });
  return Date.now();
}

export async function patchSpec(h: NodeUnderTest, instance: string, spec: Record<string, unknown>): Promise<number> {
  await h.client.request('PATCH', `${CLUSTERDNS_PATH}/${instance}`, { body: { spec }, contentType: 'application/merge-patch+json' });
  return Date.now();
}

/** The injected pod running the load, and what its log says. */
export class InjectedLoad {
  readonly h: NodeUnderTest;
  readonly namespace: string;
  readonly name: string;
  readonly pod: PodStatus;

  private constructor(h: NodeUnderTest, namespace: string, name: string, pod: PodStatus) {
    this.h = h;
    this.namespace = namespace;
    this.name = name;
    this.pod = pod;
  }

  /**
   * Creates a pod that opts into `instance` by label, checks that the webhook pointed it at
   * `clusterIP`, and resolves once it has had answers for a second.
   */
  static async start(h: NodeUnderTest, namespace: string, instance: string, clusterIP: string, name = 'load'): Promise<InjectedLoad> {
    await createPod(h, namespace, injectedLoadPod(name, h.images.current.name, instance, QUERY, RATE));
    const pod = await waitForPodReady(h, namespace, name);
    assert.equal(pod.metadata.labels?.['clusterdns.io/injected-into'], instance, 'the webhook injected the pod');
    assert.deepEqual(pod.spec.dnsConfig?.nameservers, [clusterIP]);
    const load = new InjectedLoad(h, namespace, name, pod);
    await waitFor('the load to get answers', async () => ((await load.report())?.answered ?? 0) >= RATE, 60_000);
    assert.equal((await load.report())?.server, clusterIP, 'the load asks the nameserver the webhook gave it');
    return load;
  }

  log(): Promise<string> {
    return podLog(this.h, this.namespace, this.name);
  }

  /**
   * Follows the pod's log (`kubectl logs -f`) until the pod ends, so that the last report,
   * printed when the pod is deleted, is read too: `ended` resolves with the whole log.
   */
  follow(): { readonly ended: Promise<string> } {
    const child = spawn(this.h.kubectl.binary, ['--kubeconfig', this.h.kubectl.kubeconfig, '-n', this.namespace, 'logs', '-f', this.name], { stdio: ['ignore', 'pipe', 'ignore'] });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    return { ended: new Promise((resolve) => { child.on('close', () => { resolve(Buffer.concat(chunks).toString('utf8')); }); }) };
  }

  async report(): Promise<ReturnType<typeof lastReport>> {
    return lastReport(await this.log());
  }

  /** The figures from `from` to `to` (or now), once the report after `to` is printed. */
  async window(from: number, to = Date.now()): Promise<LoadWindow> {
    await waitFor('the load\'s next report', async () => ((await this.report())?.at ?? 0) >= to, 10_000);
    return windowOf(await this.log(), from, to);
  }

  /** Resolves with the first answer from the side with `ttl` at or after `since`. */
  async firstAnswer(ttl: number, since: number, timeoutMs = 60_000): Promise<TtlChange> {
    let found: TtlChange | undefined;
    await waitFor(`an answer with TTL ${ttl}`, async () => {
      found = ttlChanges(await this.log()).find((c) => c.ttl === ttl && c.at >= since);
      return found !== undefined;
    }, timeoutMs);
    if (!found) throw new Error('unreachable');
    return found;
  }

  /** The answers' TTL changes at or after `since`. */
  async changesSince(since: number): Promise<TtlChange[]> {
    return ttlChanges(await this.log()).filter((c) => c.at >= since);
  }

  /** The pod as it is now: the same uid, no restart, the same dnsConfig, or it was recreated or changed. */
  async unchanged(): Promise<void> {
    const now = await getPod(this.h, this.namespace, this.name);
    assert.equal((now.metadata as { uid?: string }).uid, (this.pod.metadata as { uid?: string }).uid, 'the same pod');
    assert.deepEqual(now.spec.dnsConfig, this.pod.spec.dnsConfig, 'the same dnsConfig');
    assert.equal(now.status?.containerStatuses?.[0]?.restartCount, 0, 'never restarted');
  }
}

/** A DNS request counter of each side: the instance's resolver pods and kube-dns's CoreDNS pods. */
export async function sideRequests(h: NodeUnderTest, instance: string): Promise<{ instance: number; baseline: number }> {
  const kubeDNS = await h.client.request<{ items: PodStatus[] }>('GET', `/api/v1/namespaces/${KUBE_DNS.namespace}/pods?labelSelector=k8s-app%3Dkube-dns`);
  let baseline = 0;
  for (const pod of kubeDNS.items) baseline += await dnsRequests(h, pod).catch(() => 0);
  let own = 0;
  for (const pod of await resolverPods(h, instance)) own += await dnsRequests(h, pod).catch(() => 0);
  return { instance: own, baseline };
}

/** How long both sides answered after a switch: from the first answer-side change to the last. */
export function mixedMs(changes: readonly TtlChange[]): number {
  const first = changes[0];
  const last = changes.at(-1);
  return first && last ? last.at - first.at : 0;
}

/** A line for the test's log and the report. */
export function figures(label: string, window: LoadWindow, extra: Record<string, number | string> = {}): string {
  const ttls = Object.entries(window.ttls).map(([ttl, n]) => `${n}×TTL ${ttl}`).join(', ') || 'none';
  const more = Object.entries(extra).map(([k, v]) => ` ${k} ${typeof v === 'number' ? `${v} ms` : v};`).join('');
  const line = `# real node routing: ${label}:${more} lookups ${window.lookups}, failed ${window.failed}, retried ${window.retried}, longest gap ${window.longestGapMs} ms, answers ${ttls}`;
  process.stderr.write(`${line}\n`);
  return line;
}

/** Waits out `ms` while the load runs (so a window has its steady part). */
export async function hold(ms: number): Promise<void> {
  await sleep(ms);
}
