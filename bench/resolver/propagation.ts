/**
 * Propagation latency: the time from sending a Service to the apiserver until a DNS server
 * answers its name. Every server under test is asked every millisecond (a new query id each
 * time) from just before the create request, so the figure includes the apiserver's own
 * write, and all servers are measured on the same creations (a slow moment of a shared
 * machine hits them alike).
 */
import { createSocket } from 'node:dgram';
import type { KubeClient } from '../../src/kube/client.ts';
import { encodeQuery } from '../../test/dns/client.ts';

export interface PropagationResult {
  readonly samples: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

interface Target {
  readonly host: string;
  readonly port: number;
}

/** Creates a service; resolves with the milliseconds until each server answered it. */
function measureOne(client: KubeClient, servers: readonly Target[], namespace: string, name: string): Promise<number[]> {
  const fqdn = `${name}.${namespace}.svc.cluster.local`;
  const sockets = servers.map(() => createSocket('udp4'));
  const times: Array<number | undefined> = servers.map(() => undefined);
  return new Promise((resolve, reject) => {
    const began = performance.now();
    let id = 0;
    const timer = setInterval(() => {
      const query = encodeQuery(fqdn, 'A', { id: id++ & 0xffff });
      servers.forEach((server, i) => { if (times[i] === undefined) sockets[i]?.send(query, server.port, server.host); });
    }, 1);
    const give = setTimeout(() => { finish(new Error(`${fqdn} not answered by every server within 30 s`)); }, 30_000);
    const finish = (error?: Error): void => {
      clearInterval(timer);
      clearTimeout(give);
      for (const socket of sockets) socket.close();
      if (error) reject(error);
      else resolve(times.map((t) => t ?? NaN));
    };
    sockets.forEach((socket, i) => {
      socket.on('message', (response) => {
        // NOERROR with an answer: the service is there.
        if (times[i] !== undefined || response.length < 12 || response.readUInt16BE(6) === 0 || (response.readUInt16BE(2) & 0xf) !== 0) return;
        times[i] = performance.now() - began;
        if (times.every((t) => t !== undefined)) finish();
      });
    });
    client.request('POST', `/api/v1/namespaces/${namespace}/services`, {
      body: { apiVersion: 'v1', kind: 'Service', metadata: { name }, spec: { ports: [{ name: 'http', port: 80 }] } },
    }).catch((error: unknown) => { finish(error instanceof Error ? error : new Error(String(error))); });
  });
}

/** `samples` creations, one after the other; a result per server, in the order given. */
export async function measurePropagation(client: KubeClient, servers: readonly Target[], namespace: string, samples: number): Promise<PropagationResult[]> {
  const times: number[][] = servers.map(() => []);
  for (let i = 0; i < samples; i++) {
    const one = await measureOne(client, servers, namespace, `new-${i}`);
    one.forEach((t, s) => times[s]?.push(t));
  }
  return times.map((list) => {
    list.sort((a, b) => a - b);
    const at = (p: number): number => list[Math.min(list.length - 1, Math.floor((p / 100) * list.length))] ?? NaN;
    return { samples, p50Ms: at(50), p99Ms: at(99), maxMs: list[list.length - 1] ?? NaN };
  });
}
