/**
 * The header every benchmark prints before it measures: the command that reproduces it, the
 * machine, and how busy the machine was, so that a figure is never read without its context.
 */
import { execFile } from 'node:child_process';
import { cpus, loadavg, release, totalmem } from 'node:os';

export function loadAverage(): string {
  return loadavg().map((l) => l.toFixed(2)).join(' ');
}

export async function printBenchmarkHeader(command: string): Promise<void> {
  const cpu = cpus();
  const top = await new Promise<string>((resolve) => {
    execFile('top', ['-b', '-n', '1', '-o', '%CPU', '-w', '150'], (_error, stdout) => { resolve(stdout); });
  });
  console.log(`command: ${command}`);
  console.log(`machine: ${cpu.length} x ${cpu[0]?.model ?? '?'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Linux ${release()}, Node ${process.version}`);
  console.log(`load average before start: ${loadAverage()}`);
  console.log(`busiest processes at start (top):\n${top.split('\n').slice(7, 13).map((l) => `  ${l.trim()}`).join('\n')}`);
}
