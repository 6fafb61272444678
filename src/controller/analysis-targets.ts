/**
 * Where the operator reads the pods' shadow summaries, and how.
 *
 * In a cluster: each ready resolver pod of the revision under analysis, at its own address
 * and health port (`http://<pod IP>:8080/shadow`), as Prometheus scrapes pods. The pods come
 * from the watch the operator already has of them (list and watch of pods; no proxy through
 * the apiserver, so no `pods/proxy` permission), and the operator must reach the pods'
 * network on that port (mind NetworkPolicies in the operator's namespace).
 *
 * In local mode the pods are KWOK's fakes and each instance is one resolver process on
 * loopback: `--analysis-targets FILE` names their health addresses instead, and is read
 * again at every round, so local mode can rewrite it as resolvers come and go.
 */
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { z } from 'zod';
import { RESOLVER_PORTS } from '../api/names.ts';
import type { Store } from '../kube/store.ts';
import type { AnalysisTarget, AnalysisTargets, SummaryFetch } from './analysis-collector.ts';
import type { ResolverPod } from './pods.ts';

/** A summary is a few kilobytes; anything much larger is not one. */
const MAX_SUMMARY_BYTES = 1 << 20;

export function podTargets(pods: Store<ResolverPod>, port: number = RESOLVER_PORTS.health): AnalysisTargets {
  return {
    of: (instance, podRevision) => pods.list()
      .filter((pod) => pod.instance === instance && pod.ready && pod.revision === podRevision && pod.ips.length > 0)
      .map((pod): AnalysisTarget => {
        const ip = pod.ips[0] ?? '';
        return { pod: pod.name, url: `http://${ip.includes(':') ? `[${ip}]` : ip}:${port}/shadow` };
      }),
  };
}

/** `{"instances": {"kube-dns-2": ["127.0.0.1:34567"]}}`: the health addresses of each instance's resolvers. */
export const targetsFileSchema = z.object({ instances: z.record(z.string(), z.array(z.string().regex(/^[0-9a-fA-F.:[\]]+:\d+$/, 'must be HOST:PORT'))) });

export function fileTargets(file: string): AnalysisTargets {
  return {
    of: (instance) => {
      let parsed: z.infer<typeof targetsFileSchema>;
      try {
        parsed = targetsFileSchema.parse(JSON.parse(readFileSync(file, 'utf8')));
      } catch {
        // Not written yet, or being replaced: no targets this round.
        return [];
      }
      return (parsed.instances[instance] ?? []).map((address) => ({ pod: address, url: `http://${address}/shadow` }));
    },
  };
}

/** A GET with a deadline for the whole exchange and a bound on the body. */
export const fetchSummary: SummaryFetch = (url, timeoutMs) => new Promise((resolve, reject) => {
  const req = request(url, { method: 'GET', headers: { accept: 'application/json' } }, (res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_SUMMARY_BYTES) req.destroy(new Error(`more than ${MAX_SUMMARY_BYTES} bytes`));
      else chunks.push(chunk);
    });
    res.on('end', () => {
      clearTimeout(timer);
      if (res.statusCode === 200) resolve(Buffer.concat(chunks).toString('utf8'));
      else reject(new Error(`HTTP ${res.statusCode ?? 0}`));
    });
    res.on('error', reject);
  });
  const timer = setTimeout(() => { req.destroy(new Error(`no answer within ${timeoutMs} ms`)); }, timeoutMs);
  req.on('error', (error) => {
    clearTimeout(timer);
    reject(error);
  });
  req.end();
});
