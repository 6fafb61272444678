/**
 * Propagation latency: the time from sending a Service to the apiserver until a DNS server
 * answers its name. The name is asked every millisecond (a new query id each time) from
 * just before the create request, so the figure includes the apiserver's own write.
 */
import { createSocket } from 'node:dgram';
import type { KubeClient } from '../../src/kube/client.ts';
import { encodeQuery } from '../../test/resolver/dns.ts';

export interface PropagationResult {
  readonly samples: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

/** Creates a service and resolves with the milliseconds until `server` answered it. */
function measureOne(client: KubeClient, server: { host: string; port: number }, namespace: string, name: string): Promise<number> {
  const fqdn = `${name}.${namespace}.svc.cluster.local`;
  const socket = createSocket('udp4');
  return new Promise((resolve, reject) => {
    const began = performance.now();
    let id = 0;
    const timer = setInterval(() => {
      socket.send(encodeQuery(fqdn, 'A', { id: id++ & 0xffff }), server.port, server.host);
    }, 1);
    const give = setTimeout(() => { finish(new Error(`${fqdn} not answered within 30 s`)); }, 30_000);
    const finish = (result: number | Error): void => {
      clearInterval(timer);
      clearTimeout(give);
      socket.close();
      if (result instanceof Error) reject(result);
      else resolve(result);
    };
    socket.on('message', (response) => {
      // Answer count > 0 and rcode NOERROR: the service is there.
      if (response.length >= 12 && response.readUInt16BE(6) > 0 && (response.readUInt16BE(2) & 0xf) === 0) finish(performance.now() - began);
    });
    client.request('POST', `/api/v1/namespaces/${namespace}/services`, {
      body: { apiVersion: 'v1', kind: 'Service', metadata: { name }, spec: { ports: [{ name: 'http', port: 80 }] } },
    }).catch((error: unknown) => { finish(error instanceof Error ? error : new Error(String(error))); });
  });
}

export async function measurePropagation(client: KubeClient, server: { host: string; port: number }, namespace: string, prefix: string, samples: number): Promise<PropagationResult> {
  const times: number[] = [];
  for (let i = 0; i < samples; i++) times.push(await measureOne(client, server, namespace, `${prefix}-${i}`));
  times.sort((a, b) => a - b);
  const at = (p: number): number => times[Math.min(times.length - 1, Math.floor((p / 100) * times.length))] ?? NaN;
  return { samples, p50Ms: at(50), p99Ms: at(99), maxMs: times[times.length - 1] ?? NaN };
}
