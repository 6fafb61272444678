/**
 * A steady DNS load from inside a pod: the product image's Node.js runs this script (no
 * other image with a DNS client is at hand, and no registry), so the queries start where a
 * workload's do and go through kube-proxy to the instance's clusterIP.
 *
 * Each lookup is one UDP query from a new connected socket (a new source port, as the C
 * library's resolver does, so that kube-proxy balances each one afresh); no answer within
 * TIMEOUT_MS, or an ICMP error, means one retry, and no answer to that a failed lookup. An answer counts only when it is
 * NOERROR with at least one record. Every second the pod prints one JSON line of running
 * totals; the last one is the report.
 *
 * Which server answered: the TTL of each answer's first record is counted (`ttls`), and a
 * change of it from one answer to the next is logged with its time, so a test that gives
 * the two sides of a switch different TTLs for the name (an instance's `spec.ttl` against
 * kubeadm's 30) sees when the answers came from which side. Each line also has its time and
 * the longest gap between answers that ended since the line before, so the figures of one
 * stretch of time can be cut out of the run (`windowOf`).
 *
 * Without SERVER, the pod asks the first nameserver of its /etc/resolv.conf: in a pod the
 * webhook injected, that is the instance's clusterIP.
 */

export interface LoadReport {
  readonly seconds: number;
  readonly lookups: number;
  readonly answered: number;
  /** Lookups that needed their retry (the first query got no usable answer in time). */
  readonly retried: number;
  /** Lookups whose retry got no usable answer either. */
  readonly failed: number;
  /** Answers that were not NOERROR with records, by rcode. */
  readonly badAnswers: Readonly<Record<string, number>>;
  /** The longest time between two consecutive good answers. */
  readonly longestGapMs: number;
  /** When the line was printed (ms since the epoch; the node's clock is this machine's). */
  readonly at?: number;
  /** The longest gap between two good answers that ended since the previous line. */
  readonly intervalGapMs?: number;
  /** Good answers by the TTL of their first record. */
  readonly ttls?: Readonly<Record<string, number>>;
  /** The server asked. */
  readonly server?: string;
}

/** One attempt that got no usable answer: when (ms since the epoch), which attempt, and why. */
export interface LoadEvent {
  readonly event: 'retried' | 'failed';
  readonly at: number;
  /** For a failed lookup: when its first query was sent (a failure is logged after both timeouts). */
  readonly sent?: number;
  readonly reason: string;
}

/** An answer whose TTL differs from the answer before it (the first answer too): the other side answered. */
export interface TtlChange {
  readonly event: 'ttl';
  readonly at: number;
  readonly ttl: number;
  readonly previous: number | null;
}

/** The pod's program (CommonJS for `node -e`); configured by SERVER, NAME, RATE and TIMEOUT_MS. */
export const DNS_LOAD_SCRIPT = String.raw`
const dgram = require('node:dgram');
const resolvConf = () => (/^nameserver\s+(\S+)/m.exec(require('node:fs').readFileSync('/etc/resolv.conf', 'utf8')) || [])[1];
const server = process.env.SERVER || resolvConf(), name = process.env.NAME;
const rate = Number(process.env.RATE || 200), timeoutMs = Number(process.env.TIMEOUT_MS || 1000);
const stats = { seconds: 0, at: 0, lookups: 0, answered: 0, retried: 0, failed: 0, badAnswers: {}, longestGapMs: 0, intervalGapMs: 0, ttls: {}, server };
const qname = Buffer.concat(name.split('.').filter(Boolean).map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])).concat([Buffer.from([0, 0, 1, 0, 1])]));
let lastAnswer = 0, lastTtl = null, ttlChanges = 0;
// The TTL of the first answer record: past the header, the question, and the record's name.
function firstTtl(m) {
  let at = 12;
  const skipName = () => { while (at < m.length) { const n = m[at]; if (n === 0) { at++; return; } if (n >= 192) { at += 2; return; } at += n + 1; } };
  skipName(); at += 4; skipName(); at += 4;
  return at + 4 <= m.length ? m.readUInt32BE(at) : -1;
}
function attempt(n, sent = Date.now()) {
  const id = Math.floor(Math.random() * 65536);
  const header = Buffer.from([id >> 8, id & 255, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
  const socket = dgram.createSocket('udp4');
  let done = false;
  // ok: false, or the answer's TTL (which may be 0).
  const finish = (ok, reason) => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    socket.close();
    if (ok !== false) {
      const now = Date.now();
      if (lastAnswer) {
        stats.longestGapMs = Math.max(stats.longestGapMs, now - lastAnswer);
        stats.intervalGapMs = Math.max(stats.intervalGapMs, now - lastAnswer);
      }
      lastAnswer = now;
      stats.answered++;
      stats.ttls[ok] = (stats.ttls[ok] || 0) + 1;
      if (ok !== lastTtl && ttlChanges++ < 1000) console.log(JSON.stringify({ event: 'ttl', at: now, ttl: ok, previous: lastTtl }));
      lastTtl = ok;
    } else if (n === 1) {
      stats.retried++;
      console.log(JSON.stringify({ event: 'retried', at: Date.now(), reason }));
      attempt(2, sent);
    } else {
      stats.failed++;
      console.log(JSON.stringify({ event: 'failed', at: Date.now(), sent, reason }));
    }
  };
  const timer = setTimeout(() => finish(false, 'timeout'), timeoutMs);
  socket.on('error', (error) => finish(false, error.code || String(error)));
  socket.on('message', (m) => {
    if (m.length < 12 || m.readUInt16BE(0) !== id) return;
    const rcode = m[3] & 15, answers = m.readUInt16BE(6);
    if (rcode === 0 && answers > 0) return finish(firstTtl(m));
    stats.badAnswers[rcode] = (stats.badAnswers[rcode] || 0) + 1;
    finish(false, 'rcode ' + rcode);
  });
  // Connected, as the C library's resolver: a port-unreachable (a dead backend) ends the attempt at once.
  socket.connect(53, server, () => socket.send(Buffer.concat([header, qname])));
}
const began = Date.now();
setInterval(() => {
  const due = Math.floor(((Date.now() - began) * rate) / 1000);
  while (stats.lookups < due) { stats.lookups++; attempt(1); }
}, 2);
const report = () => { stats.at = Date.now(); stats.seconds = Math.round((stats.at - began) / 1000); console.log(JSON.stringify(stats)); stats.intervalGapMs = 0; };
setInterval(report, 1000);
process.on('SIGTERM', () => { report(); process.exit(0); });
`;

/** A pod that runs the load against `server` (a clusterIP) with the product image. */
export function loadPod(name: string, image: string, server: string, query: string, rate = 200): object {
  return loadPodOf(name, image, query, rate, {
    spec: { dnsPolicy: 'None', dnsConfig: { nameservers: [server] } },
    env: [{ name: 'SERVER', value: server }],
  });
}

/**
 * A pod that opts into `instance` by its label and runs the load against whatever nameserver
 * the webhook gave it (the first of its resolv.conf).
 */
export function injectedLoadPod(name: string, image: string, instance: string, query: string, rate = 200): object {
  return loadPodOf(name, image, query, rate, { labels: { 'clusterdns.io/instance': instance } });
}

interface LoadPodParts {
  readonly labels?: Record<string, string>;
  readonly spec?: Record<string, unknown>;
  readonly env?: ReadonlyArray<{ name: string; value: string }>;
}

function loadPodOf(name: string, image: string, query: string, rate: number, parts: LoadPodParts): object {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: parts.labels ?? {} },
    spec: {
      restartPolicy: 'Never',
      terminationGracePeriodSeconds: 2,
      ...parts.spec,
      containers: [{
        name: 'load',
        image,
        imagePullPolicy: 'Never',
        command: ['node', '-e', DNS_LOAD_SCRIPT],
        env: [...(parts.env ?? []), { name: 'NAME', value: query }, { name: 'RATE', value: String(rate) }, { name: 'TIMEOUT_MS', value: '1000' }],
      }],
    },
  };
}

/** The attempts that got no usable answer, from the pod's log. */
export function loadEvents(log: string): LoadEvent[] {
  return log.trim().split('\n').filter((line) => line.startsWith('{"event":"retried"') || line.startsWith('{"event":"failed"')).map((line) => JSON.parse(line) as LoadEvent);
}

/** The answers whose TTL differs from the answer before, from the pod's log. */
export function ttlChanges(log: string): TtlChange[] {
  return log.trim().split('\n').filter((line) => line.startsWith('{"event":"ttl"')).map((line) => JSON.parse(line) as TtlChange);
}

/** Every report line of the pod's log, in order. */
export function reports(log: string): LoadReport[] {
  return log.trim().split('\n').filter((line) => line.startsWith('{"seconds"')).map((line) => JSON.parse(line) as LoadReport);
}

/** The last report line of the pod's log. */
export function lastReport(log: string): LoadReport | undefined {
  return reports(log).at(-1);
}

/** The load's figures over a stretch of time, from the report lines around it (1 s resolution). */
export interface LoadWindow {
  readonly fromMs: number;
  readonly toMs: number;
  readonly lookups: number;
  readonly answered: number;
  readonly retried: number;
  readonly failed: number;
  /** The longest gap between good answers that ended within the stretch. */
  readonly longestGapMs: number;
  /** Good answers by the TTL of their first record. */
  readonly ttls: Readonly<Record<string, number>>;
}

/** The figures between the last report at or before `from` and the first at or after `to` (or the last). */
export function windowOf(log: string, from: number, to: number): LoadWindow {
  const lines = reports(log);
  const start = lines.filter((r) => (r.at ?? 0) <= from).at(-1);
  const end = lines.find((r) => (r.at ?? 0) >= to) ?? lines.at(-1);
  if (!end) throw new Error('the load printed no report');
  const inside = lines.filter((r) => (r.at ?? 0) > (start?.at ?? 0) && (r.at ?? 0) <= (end.at ?? 0));
  const ttls: Record<string, number> = {};
  for (const [ttl, count] of Object.entries(end.ttls ?? {})) {
    const delta = count - (start?.ttls?.[ttl] ?? 0);
    if (delta > 0) ttls[ttl] = delta;
  }
  return {
    fromMs: start?.at ?? 0, toMs: end.at ?? 0,
    lookups: end.lookups - (start?.lookups ?? 0),
    answered: end.answered - (start?.answered ?? 0),
    retried: end.retried - (start?.retried ?? 0),
    failed: end.failed - (start?.failed ?? 0),
    longestGapMs: Math.max(0, ...inside.map((r) => r.intervalGapMs ?? 0)),
    ttls,
  };
}
