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
}

/** One attempt that got no usable answer: when (ms since the epoch), which attempt, and why. */
export interface LoadEvent {
  readonly event: 'retried' | 'failed';
  readonly at: number;
  readonly reason: string;
}

/** The pod's program (CommonJS for `node -e`); configured by SERVER, NAME, RATE and TIMEOUT_MS. */
export const DNS_LOAD_SCRIPT = String.raw`
const dgram = require('node:dgram');
const server = process.env.SERVER, name = process.env.NAME;
const rate = Number(process.env.RATE || 200), timeoutMs = Number(process.env.TIMEOUT_MS || 1000);
const stats = { seconds: 0, lookups: 0, answered: 0, retried: 0, failed: 0, badAnswers: {}, longestGapMs: 0 };
const qname = Buffer.concat(name.split('.').filter(Boolean).map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])).concat([Buffer.from([0, 0, 1, 0, 1])]));
let lastAnswer = 0;
function attempt(n) {
  const id = Math.floor(Math.random() * 65536);
  const header = Buffer.from([id >> 8, id & 255, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
  const socket = dgram.createSocket('udp4');
  let done = false;
  const finish = (ok, reason) => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    socket.close();
    if (ok) {
      const now = Date.now();
      if (lastAnswer) stats.longestGapMs = Math.max(stats.longestGapMs, now - lastAnswer);
      lastAnswer = now;
      stats.answered++;
    } else if (n === 1) {
      stats.retried++;
      console.log(JSON.stringify({ event: 'retried', at: Date.now(), reason }));
      attempt(2);
    } else {
      stats.failed++;
      console.log(JSON.stringify({ event: 'failed', at: Date.now(), reason }));
    }
  };
  const timer = setTimeout(() => finish(false, 'timeout'), timeoutMs);
  socket.on('error', (error) => finish(false, error.code || String(error)));
  socket.on('message', (m) => {
    if (m.length < 12 || m.readUInt16BE(0) !== id) return;
    const rcode = m[3] & 15, answers = m.readUInt16BE(6);
    if (rcode === 0 && answers > 0) return finish(true);
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
setInterval(() => { stats.seconds = Math.round((Date.now() - began) / 1000); console.log(JSON.stringify(stats)); }, 1000);
process.on('SIGTERM', () => { console.log(JSON.stringify(stats)); process.exit(0); });
`;

/** A pod that runs the load against `server` (a clusterIP) with the product image. */
export function loadPod(name: string, image: string, server: string, query: string, rate = 200): object {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name },
    spec: {
      restartPolicy: 'Never',
      terminationGracePeriodSeconds: 2,
      dnsPolicy: 'None',
      dnsConfig: { nameservers: [server] },
      containers: [{
        name: 'load',
        image,
        imagePullPolicy: 'Never',
        command: ['node', '-e', DNS_LOAD_SCRIPT],
        env: [{ name: 'SERVER', value: server }, { name: 'NAME', value: query }, { name: 'RATE', value: String(rate) }, { name: 'TIMEOUT_MS', value: '1000' }],
      }],
    },
  };
}

/** The attempts that got no usable answer, from the pod's log. */
export function loadEvents(log: string): LoadEvent[] {
  return log.trim().split('\n').filter((line) => line.startsWith('{"event"')).map((line) => JSON.parse(line) as LoadEvent);
}

/** The last report line of the pod's log. */
export function lastReport(log: string): LoadReport | undefined {
  const lines = log.trim().split('\n').filter((line) => line.startsWith('{"seconds"'));
  const last = lines.at(-1);
  return last ? JSON.parse(last) as LoadReport : undefined;
}
