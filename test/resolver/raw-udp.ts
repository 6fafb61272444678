/**
 * Datagrams with a forged source (port 0, a broadcast address), for the hostile-traffic
 * tests: no ordinary socket can send them, Node has no raw sockets, so a small C program
 * (raw-udp.c) is compiled with gcc the first time a test needs it and driven over its
 * stdin. Linux and root only (a raw socket), as CI runs; nothing leaves loopback.
 */
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export interface RawDatagrams {
  readonly from: string;
  readonly fromPort: number;
  readonly to: string;
  readonly toPort: number;
  readonly payload: Buffer;
  /** How many copies (default 1), `gapMicroseconds` apart. */
  readonly count?: number;
  readonly gapMicroseconds?: number;
}

const SOURCE = fileURLToPath(new URL('./raw-udp.c', import.meta.url));

export class RawUdpSender {
  private readonly child: ChildProcess;
  private readonly dir: string;
  private readonly waiting: Array<(sent: number) => void> = [];
  private readonly errors: string[] = [];

  private constructor(child: ChildProcess, dir: string) {
    this.child = child;
    this.dir = dir;
    if (child.stdout) {
      createInterface({ input: child.stdout }).on('line', (line) => {
        const match = /^sent (\d+)$/.exec(line);
        if (match) this.waiting.shift()?.(Number(match[1]));
      });
    }
    child.stderr?.on('data', (chunk: Buffer) => { this.errors.push(chunk.toString()); });
  }

  /** Compiles raw-udp.c into a temporary directory and starts it. */
  static start(): RawUdpSender {
    const dir = mkdtempSync(join(tmpdir(), 'clusterdns-raw-udp-'));
    const binary = join(dir, 'raw-udp');
    execFileSync('gcc', ['-O2', '-Wall', '-o', binary, SOURCE], { stdio: 'pipe' });
    const child = spawn(binary, [], { stdio: ['pipe', 'pipe', 'pipe'] });
    return new RawUdpSender(child, dir);
  }

  /** Sends the datagrams; resolves with the number sent so far, once they are all out. */
  send(datagrams: RawDatagrams): Promise<number> {
    const line = [datagrams.from, datagrams.fromPort, datagrams.to, datagrams.toPort, datagrams.count ?? 1, datagrams.gapMicroseconds ?? 0, datagrams.payload.toString('hex')].join(' ');
    return new Promise((resolve, reject) => {
      if (this.child.exitCode !== null) {
        reject(new Error(`raw-udp exited: ${this.errors.join('')}`));
        return;
      }
      this.waiting.push(resolve);
      this.child.stdin?.write(`${line}\n`);
    });
  }

  /** What the sender wrote on stderr (sendto errors). */
  get stderr(): string {
    return this.errors.join('');
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null) {
      this.child.stdin?.end();
      await once(this.child, 'exit');
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
