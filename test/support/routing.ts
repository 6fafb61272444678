/**
 * What routing tests and the routing benchmark look at: the ready endpoints of a Service
 * across all its EndpointSlices (as kube-proxy would program them), a watch of them that
 * records every state the Service went through (to prove that no state mixed the instance's
 * endpoints with the baseline's), pod readiness set by hand (KWOK makes a pod Ready once and
 * leaves its status alone afterwards), and the operator started with its webhook on loopback.
 */
import type { ControlPlane } from '../../src/local/control-plane.ts';
import { WEBHOOK_CONFIGURATION } from '../../src/api/names.ts';
import { freePort } from '../../src/local/net.ts';
import type { KubeClient } from '../../src/kube/client.ts';
import { Watcher } from '../../src/kube/watcher.ts';
import { shrinkSlice } from '../../src/controller/slices.ts';
import type { SliceState } from '../../src/controller/slices.ts';
import { OperatorProcess, kubectlOn } from './operator.ts';
import type { OperatorProcessOptions } from './operator.ts';

const SLICES = (namespace: string): string => `/apis/discovery.k8s.io/v1/namespaces/${namespace}/endpointslices`;

/** The slices of a Service, shrunk (ready endpoints only). */
export async function serviceSlices(client: KubeClient, namespace: string, service: string): Promise<SliceState[]> {
  const list = await client.request<{ items: Array<Record<string, unknown>> }>('GET', SLICES(namespace), { query: { labelSelector: `kubernetes.io/service-name=${service}` } });
  return list.items.map((raw) => shrinkSlice(raw));
}

/** Every ready address across slices, sorted and without duplicates. */
export function readyAddresses(slices: readonly SliceState[]): string[] {
  return [...new Set(slices.flatMap((s) => s.ready.flatMap((e) => e.addresses)))].sort();
}

/** One state of a Service's endpoints, when the watch saw it. */
export interface EndpointsState {
  readonly at: number;
  readonly addresses: readonly string[];
}

/** A watch of a Service's slices that keeps the union of ready addresses after every event. */
export class EndpointsRecorder {
  readonly states: EndpointsState[] = [];
  private readonly slices = new Map<string, SliceState>();
  private readonly stop = new AbortController();
  private running: Promise<void> | undefined;
  private waiters: Array<() => void> = [];

  private readonly client: KubeClient;
  private readonly namespace: string;
  private readonly service: string;

  constructor(client: KubeClient, namespace: string, service: string) {
    this.client = client;
    this.namespace = namespace;
    this.service = service;
  }

  start(): void {
    this.running = new Watcher<SliceState>({
      client: this.client,
      resource: { path: SLICES(this.namespace), labelSelector: `kubernetes.io/service-name=${this.service}` },
      shrink: shrinkSlice,
      onEvent: (event) => {
        if (event.type === 'restarted') {
          this.slices.clear();
          for (const s of event.objects) this.slices.set(s.name, s);
        } else if (event.type === 'applied') this.slices.set(event.object.name, event.object);
        else this.slices.delete(event.object.name);
        this.states.push({ at: Date.now(), addresses: readyAddresses([...this.slices.values()]) });
        for (const wake of this.waiters.splice(0)) wake();
      },
    }).run(this.stop.signal);
  }

  get current(): readonly string[] {
    return this.states.at(-1)?.addresses ?? [];
  }

  /** Resolves with the first state (recorded at or after `since`) that `accept` takes, or rejects after `timeoutMs`. */
  async until(accept: (addresses: readonly string[]) => boolean, since: number, timeoutMs: number): Promise<EndpointsState> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.states.find((s) => s.at >= since && accept(s.addresses));
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no such endpoints state within ${timeoutMs} ms; the last: ${this.current.join(', ') || 'none'}`);
      await new Promise<void>((resolve) => { this.waiters.push(resolve); setTimeout(resolve, 500); });
    }
  }

  /** States that held addresses of both sets at once. */
  mixed(instance: readonly string[], baseline: readonly string[]): EndpointsState[] {
    return this.states.filter((s) => s.addresses.some((a) => instance.includes(a)) && s.addresses.some((a) => baseline.includes(a)));
  }

  async close(): Promise<void> {
    this.stop.abort();
    await this.running;
  }
}

/** Sets a pod's Ready (and ContainersReady) condition through the status subresource. */
export async function setPodReady(client: KubeClient, namespace: string, name: string, ready: boolean): Promise<void> {
  const status = ready ? 'True' : 'False';
  await client.request('PATCH', `/api/v1/namespaces/${namespace}/pods/${name}/status`, {
    body: JSON.stringify({ status: { conditions: [{ type: 'Ready', status }, { type: 'ContainersReady', status }] } }),
    contentType: 'application/strategic-merge-patch+json',
  });
}

export interface PodAddress { readonly name: string; readonly ip: string; readonly ready: boolean }

/** An instance's resolver pods: name, address, readiness. */
export async function instancePods(client: KubeClient, namespace: string, instance: string): Promise<PodAddress[]> {
  const list = await client.request<{ items: Array<{ metadata: { name: string; deletionTimestamp?: string }; status?: { podIP?: string; conditions?: Array<{ type: string; status: string }> } }> }>(
    'GET', `/api/v1/namespaces/${namespace}/pods`, { query: { labelSelector: `app.kubernetes.io/instance=${instance}` } });
  return list.items
    .filter((p) => !p.metadata.deletionTimestamp)
    .map((p) => ({ name: p.metadata.name, ip: p.status?.podIP ?? '', ready: p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

const PROBE_POD = (instance: string): string => JSON.stringify({
  apiVersion: 'v1', kind: 'Pod',
  metadata: { name: 'routing-webhook-probe', labels: { 'clusterdns.io/instance': instance } },
  spec: { containers: [{ name: 'app', image: 'app' }] },
});

/**
 * The operator with its webhook on a free loopback port, registered by URL. Resolves once the
 * apiserver calls the webhook (a dry-run pod asking for a missing instance comes back with its
 * warning). The MutatingWebhookConfiguration is cluster-wide: delete it when done.
 */
export async function startOperatorWithWebhook(plane: ControlPlane, options: OperatorProcessOptions): Promise<OperatorProcess> {
  const port = await freePort();
  const operator = await OperatorProcess.start({
    ...options,
    extraArgs: [...(options.extraArgs ?? []), '--webhook=true', '--webhook-host', '127.0.0.1', '--webhook-port', String(port), '--webhook-url', `https://127.0.0.1:${port}/mutate-v1-pod`],
  });
  const deadline = Date.now() + 60_000;
  for (;;) {
    // kubectlOn resolves with stdout only: made errors, the webhook's warnings come back in the rejection.
    const warned = await kubectlOn(plane, ['create', '--dry-run=server', '-n', 'default', '-o', 'name', '--warnings-as-errors', '-f', '-'], PROBE_POD('routing-probe'))
      .then(() => '', (error: unknown) => String(error));
    if (warned.includes('clusterdns: ClusterDNS routing-probe')) return operator;
    if (Date.now() > deadline) {
      await operator.stop();
      throw new Error(`the apiserver does not call the operator's webhook: ${warned}\n${operator.logs.slice(-2000)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** Deletes a suite's ClusterDNS objects at once (their drain finalizer dropped) and the webhook configuration its operator made. */
export async function removeInstances(plane: ControlPlane, names: readonly string[]): Promise<void> {
  const quietly = (args: string[]): Promise<unknown> => kubectlOn(plane, args).catch(() => undefined);
  for (const name of names) {
    await quietly(['patch', 'cdns', name, '--type=merge', '-p', '{"metadata":{"finalizers":null}}']);
    await quietly(['delete', 'cdns', name, '--ignore-not-found', '--wait=false']);
  }
  await quietly(['delete', 'mutatingwebhookconfiguration', WEBHOOK_CONFIGURATION, '--ignore-not-found']);
}
