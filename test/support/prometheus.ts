/** Reads the Prometheus text format: enough to sum counters by label in tests and benchmarks. */

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function parsePrometheus(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = LINE.exec(line);
    if (!match) continue;
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(LABEL)) if (key !== undefined) labels[key] = (value ?? '').replace(/\\(.)/g, '$1');
    samples.push({ name: match[1] ?? '', labels, value: Number(match[3]) });
  }
  return samples;
}

/** The sum of the samples of `name` whose labels pass `where`. */
export function sumOf(samples: readonly Sample[], name: string, where: (labels: Readonly<Record<string, string>>) => boolean = () => true): number {
  return samples.filter((s) => s.name === name && where(s.labels)).reduce((total, s) => total + s.value, 0);
}

/** Write verbs as the apiserver labels them in apiserver_request_total (APPLY is a server-side apply PATCH). */
export const WRITE_VERBS = new Set(['POST', 'PUT', 'PATCH', 'APPLY', 'DELETE', 'DELETECOLLECTION']);

/**
 * What the operator writes, as the apiserver counts it: the children's main resources (and
 * EndpointSlices and Endpoints, which routing writes and deletes) and the ClusterDNS status.
 * Status writes of other controllers (Deployment and PDB status), leader-election Leases and
 * Events are not reconcile writes and are left out; so are writes to ClusterDNS objects
 * themselves (the finalizer, and the tests' own edits), which the operator counts itself.
 */
export function isOperatorWrite(labels: Readonly<Record<string, string>>): boolean {
  if (!WRITE_VERBS.has(labels['verb'] ?? '')) return false;
  const resource = labels['resource'] ?? '';
  const subresource = labels['subresource'] ?? '';
  if (resource === 'clusterdnses') return subresource === 'status';
  return ['configmaps', 'services', 'deployments', 'poddisruptionbudgets', 'endpointslices', 'endpoints'].includes(resource) && subresource === '';
}
