/**
 * The questions `clusterdns compare` asks: built from a snapshot of the cluster (pure), or
 * read from a names file.
 *
 * From the cluster: `dns-version`; every Service's A, AAAA and SRV (per named port) names,
 * CNAME for ExternalName; the names of endpoints (by hostname, else the dashed IP); PTRs of
 * cluster and endpoint IPs; pod names (dashed IP under `<ns>.pod`); a few names that must
 * not exist; the zone's own records and the names where implementations are known to differ
 * (src/dns/intended-differences.ts); and a few external names, which the resolvers forward upstream.
 */

export const QUESTION_TYPES = ['A', 'AAAA', 'SRV', 'PTR', 'CNAME', 'TXT', 'SOA', 'NS', 'MX', 'ANY'] as const;
export type QuestionType = (typeof QUESTION_TYPES)[number];

export interface Question {
  /** Fully qualified, lower case, with the trailing dot. */
  readonly name: string;
  readonly type: QuestionType;
}

export interface ServiceFacts {
  readonly namespace: string;
  readonly name: string;
  readonly type: string;
  /** `spec.clusterIPs`; `["None"]` for a headless Service. */
  readonly clusterIPs: readonly string[];
  readonly ports: ReadonlyArray<{ readonly name?: string; readonly protocol?: string }>;
}

export interface EndpointSliceFacts {
  readonly namespace: string;
  /** The `kubernetes.io/service-name` label. */
  readonly service: string;
  readonly endpoints: ReadonlyArray<{ readonly addresses: readonly string[]; readonly hostname?: string }>;
}

export interface PodIPFacts {
  readonly namespace: string;
  readonly ips: readonly string[];
}

export interface ClusterSnapshot {
  readonly services: readonly ServiceFacts[];
  readonly endpointSlices: readonly EndpointSliceFacts[];
  readonly pods: readonly PodIPFacts[];
}

/** Names that resolve outside the cluster; compared too, as users see them. */
export const DEFAULT_EXTERNAL_NAMES = ['kubernetes.io', 'example.com'];

/** Builds the question list from a snapshot. Deterministic: same snapshot, same list. */
export function clusterQuestions(snapshot: ClusterSnapshot, domain: string, externalNames: readonly string[] = DEFAULT_EXTERNAL_NAMES): Question[] {
  const questions = new QuestionList();
  questions.add(`dns-version.${domain}`, 'TXT');
  const namespaces = new Set<string>();
  for (const svc of sortBy(snapshot.services, (s) => `${s.namespace}/${s.name}`)) {
    namespaces.add(svc.namespace);
    const base = `${svc.name}.${svc.namespace}.svc.${domain}`;
    if (svc.type === 'ExternalName') {
      questions.add(base, 'CNAME');
      continue;
    }
    questions.add(base, 'A');
    questions.add(base, 'AAAA');
    for (const port of svc.ports) {
      if (port.name) questions.add(`_${port.name}._${(port.protocol ?? 'TCP').toLowerCase()}.${base}`, 'SRV');
    }
    for (const ip of svc.clusterIPs) if (ip !== 'None' && ip !== '') questions.add(reverseName(ip), 'PTR');
  }
  for (const slice of sortBy(snapshot.endpointSlices, (s) => `${s.namespace}/${s.service}`)) {
    for (const endpoint of slice.endpoints) {
      for (const ip of endpoint.addresses) {
        const label = endpoint.hostname ?? dashed(ip);
        questions.add(`${label}.${slice.service}.${slice.namespace}.svc.${domain}`, ip.includes(':') ? 'AAAA' : 'A');
        questions.add(reverseName(ip), 'PTR');
      }
    }
  }
  for (const pod of sortBy(snapshot.pods, (p) => `${p.namespace}/${p.ips.join(',')}`)) {
    namespaces.add(pod.namespace);
    for (const ip of pod.ips) questions.add(`${dashed(ip)}.${pod.namespace}.pod.${domain}`, ip.includes(':') ? 'AAAA' : 'A');
  }
  zoneQuestions(questions, [...namespaces].sort(), domain);
  for (const name of externalNames) questions.add(name, 'A');
  return questions.list();
}

/**
 * Names that must not exist and the empty non-terminals around them; the zone itself; and
 * names that exist without records of the type asked (what stub resolvers ask when they look
 * for the zone, and where resolvers are known to differ).
 */
function zoneQuestions(questions: QuestionList, namespaces: readonly string[], domain: string): void {
  questions.add(`svc.${domain}`, 'A');
  questions.add(`clusterdns-compare-missing.svc.${domain}`, 'A');
  questions.add(`clusterdns-compare.missing.${domain}`, 'A');
  for (const ns of namespaces.slice(0, 20)) {
    questions.add(`${ns}.svc.${domain}`, 'A');
    questions.add(`clusterdns-compare-missing.${ns}.svc.${domain}`, 'A');
  }
  questions.add(domain, 'SOA');
  questions.add(domain, 'NS');
  questions.add(`svc.${domain}`, 'TXT');
  for (const ns of namespaces.slice(0, 1)) questions.add(`${ns}.svc.${domain}`, 'TXT');
  questions.add(`dns-version.${domain}`, 'A');
  questions.add(`clusterdns-compare-missing.svc.${domain}`, 'SOA');
}

/**
 * Parses a names file: one question a line, `NAME [TYPE]` (type A when absent); `#` starts
 * a comment. Throws with the line number of the first bad line.
 */
export function parseNamesFile(text: string): Question[] {
  const questions = new QuestionList();
  text.split('\n').forEach((raw, index) => {
    const line = raw.replace(/#.*/, '').trim();
    if (line === '') return;
    const [name = '', type = 'A', ...rest] = line.split(/\s+/);
    const upper = type.toUpperCase();
    if (rest.length > 0) throw new Error(`line ${index + 1}: expected "NAME [TYPE]", got "${line}"`);
    if (!isQuestionType(upper)) throw new Error(`line ${index + 1}: unknown type "${type}" (one of ${QUESTION_TYPES.join(', ')})`);
    if (!/^[A-Za-z0-9_.*-]+\.?$/.test(name) || name.includes('..')) throw new Error(`line ${index + 1}: "${name}" is not a domain name`);
    questions.add(name, upper);
  });
  return questions.list();
}

function isQuestionType(value: string): value is QuestionType {
  return (QUESTION_TYPES as readonly string[]).includes(value);
}

/** `10.244.1.13` → `10-244-1-13`; IPv6 `:` → `-` (CoreDNS's endpoint and pod names). */
export function dashed(ip: string): string {
  const name = ip.replace(/[.:]/g, '-');
  return name.endsWith('-') ? `${name}0` : name.startsWith('-') ? `0${name}` : name;
}

/** The in-addr.arpa or ip6.arpa name of an address. */
export function reverseName(ip: string): string {
  if (!ip.includes(':')) return `${ip.split('.').reverse().join('.')}.in-addr.arpa`;
  const [head = '', tail] = ip.split('::');
  const groups = (part: string): string[] => (part === '' ? [] : part.split(':'));
  const left = groups(head);
  const right = tail === undefined ? [] : groups(tail);
  const all = [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  const nibbles = all.map((g) => g.padStart(4, '0')).join('');
  return `${nibbles.split('').reverse().join('.')}.ip6.arpa`;
}

/** Questions in first-seen order without duplicates, names normalised. */
class QuestionList {
  private readonly seen = new Map<string, Question>();

  add(name: string, type: QuestionType): void {
    const fqdn = `${name.toLowerCase().replace(/\.$/, '')}.`;
    const key = `${fqdn} ${type}`;
    if (!this.seen.has(key)) this.seen.set(key, { name: fqdn, type });
  }

  list(): Question[] {
    return [...this.seen.values()];
  }
}

function sortBy<T>(items: readonly T[], key: (item: T) => string): T[] {
  return [...items].sort((a, b) => key(a).localeCompare(key(b)));
}
