/**
 * CoreDNS as the reference resolver of the tests: built from its Go module (hack/coredns/),
 * run on loopback with the kubeadm server block of dns-behaviour.md (out of cluster: a
 * kubeconfig), with health and ready to wait on.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureBinaries } from '../../src/local/binaries.ts';
import { freePort, httpRequest, waitFor } from '../../src/local/net.ts';
import type { Server } from '../dns/client.ts';

/** The kubeadm server block, out of cluster. */
export function corefile(port: number, readyPort: number, kubeconfig: string, upstreamAddress: string): string {
  return `.:${port} {
    bind 127.0.0.1
    errors
    ready 127.0.0.1:${readyPort}
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        kubeconfig ${kubeconfig}
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
        ttl 30
    }
    forward . ${upstreamAddress}
    cache 30 {
        disable success cluster.local
        disable denial cluster.local
    }
}
`;
}

export class CoreDNSProcess {
  readonly server: Server;
  private readonly child: ChildProcess;
  private readonly dir: string;

  private constructor(child: ChildProcess, dir: string, server: Server) {
    this.child = child;
    this.dir = dir;
    this.server = server;
  }

  /** Starts CoreDNS against the cluster of `kubeconfig`, forwarding to `upstream` (`IP:port`), and waits until it is ready. */
  static async start(kubeconfig: string, upstream: string): Promise<CoreDNSProcess> {
    const { coredns: binary } = await ensureBinaries(['coredns'], (line) => { process.stderr.write(`# ${line}\n`); });
    const dir = mkdtempSync(join(tmpdir(), 'clusterdns-coredns-'));
    const port = await freePort();
    const readyPort = await freePort();
    writeFileSync(join(dir, 'Corefile'), corefile(port, readyPort, kubeconfig, upstream));
    const child = spawn(binary, ['-conf', join(dir, 'Corefile')], { stdio: 'ignore' });
    const coredns = new CoreDNSProcess(child, dir, { host: '127.0.0.1', port });
    try {
      await waitFor('CoreDNS ready', async () => (await httpRequest({ url: `http://127.0.0.1:${readyPort}/ready` })).status === 200, 60_000,
        () => (child.exitCode !== null ? `CoreDNS exited with ${String(child.exitCode)}` : undefined));
    } catch (error) {
      await coredns.stop();
      throw error;
    }
    return coredns;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise((resolve) => this.child.once('exit', resolve));
      this.child.kill('SIGTERM');
      await exited;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
