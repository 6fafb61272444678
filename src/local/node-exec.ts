/** Runs a command inside a real node's network namespace (`clusterdns local exec`). */
import { spawn } from 'node:child_process';

/**
 * `nsenter --net=/proc/<pid>/ns/net -- command`, with this process's stdio; resolves with the
 * command's exit code. Only the network is entered: the command sees this machine's files
 * (its dig, its curl) and the node's addresses, pod IPs and Service clusterIPs.
 */
export function runInNetwork(pid: number, command: readonly string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn('nsenter', [`--net=/proc/${pid}/ns/net`, '--', ...command], { stdio: 'inherit' });
    child.on('error', reject);
    child.on('exit', (code, signal) => { resolve(code ?? (signal ? 128 : 1)); });
  });
}
