/**
 * dnsperf runs: throughput from its summary, latency percentiles from its per-query lines
 * (`-v` prints `> RCODE name type seconds` for every response).
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface DnsperfOptions {
  readonly server: { readonly host: string; readonly port: number };
  readonly queryFile: string;
  readonly seconds: number;
  /** Cores dnsperf may use (taskset list). */
  readonly cpus: string;
  /** Queries per second to hold; undefined: as many as the server answers. */
  readonly rate?: number;
  readonly clients?: number;
  /** dnsperf's own threads (-T). */
  readonly threads?: number;
  readonly outstanding?: number;
  /** Told the dnsperf process id once it runs (for CPU accounting). */
  readonly onStart?: (pid: number) => void;
}

export interface DnsperfResult {
  readonly qps: number;
  readonly sent: number;
  readonly completed: number;
  readonly lost: number;
  readonly meanMs: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Responses by rcode. */
  readonly rcodes: Readonly<Record<string, number>>;
}

export function runDnsperf(options: DnsperfOptions): Promise<DnsperfResult> {
  const args = [
    '-c', options.cpus, 'dnsperf', '-s', options.server.host, '-p', String(options.server.port), '-d', options.queryFile,
    '-l', String(options.seconds), '-c', String(options.clients ?? 4), '-q', String(options.outstanding ?? 500), '-t', '2', '-v',
    ...(options.rate ? ['-Q', String(options.rate)] : []),
    ...(options.threads ? ['-T', String(options.threads)] : []),
  ];
  return new Promise((resolve, reject) => {
    const child = spawn('taskset', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    if (child.pid !== undefined) options.onStart?.(child.pid);
    const latencies: number[] = [];
    const rcodes: Record<string, number> = {};
    const summary: string[] = [];
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (line.startsWith('> ')) {
        const parts = line.split(' ');
        const rcode = parts[1] ?? '?';
        rcodes[rcode] = (rcodes[rcode] ?? 0) + 1;
        latencies.push(Number(parts[parts.length - 1]) * 1000);
      } else {
        summary.push(line);
      }
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) {
        reject(new Error(`dnsperf exited with ${String(code)}: ${stderr}`));
        return;
      }
      resolve(parseSummary(summary.join('\n'), latencies, rcodes));
    });
  });
}

function number(text: string, pattern: RegExp): number {
  const match = pattern.exec(text);
  return match ? Number(match[1]) : NaN;
}

export function parseSummary(text: string, latencies: number[], rcodes: Record<string, number>): DnsperfResult {
  latencies.sort((a, b) => a - b);
  const percentile = (p: number): number => latencies.length === 0 ? NaN : latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? NaN;
  return {
    qps: number(text, /Queries per second:\s+([\d.]+)/),
    sent: number(text, /Queries sent:\s+(\d+)/),
    completed: number(text, /Queries completed:\s+(\d+)/),
    lost: number(text, /Queries lost:\s+(\d+)/),
    meanMs: number(text, /Average Latency \(s\):\s+([\d.]+)/) * 1000,
    p50Ms: percentile(50),
    p99Ms: percentile(99),
    rcodes,
  };
}
