/**
 * Real resolvers for DNS tests, bound to 127.0.0.1 on free ports and fed by the shared
 * control plane. Tests ask for a resolver by configuration (`ResolverSetup`) through a
 * `ResolverFactory`, so a suite written against CoreDNS runs against another implementation
 * by passing another factory.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureBinaries } from '../../src/local/binaries.ts';
import { freePort, waitFor } from '../../src/local/net.ts';
import { ManagedProcess } from '../../src/local/process.ts';
import { ask } from '../../src/compare/dns-client.ts';
import { controlPlane } from './cluster.ts';

export interface ResolverSetup {
  /** Pod A records, as CoreDNS's `pods` option. */
  readonly pods: 'disabled' | 'insecure' | 'verified';
  readonly clusterDomain?: string;
  readonly ttl?: number;
}

export interface ResolverUnderTest {
  /** `127.0.0.1:PORT` */
  readonly address: string;
  readonly port: number;
  stop(): Promise<void>;
  /** The last lines of its log, for failure messages. */
  logTail(): string;
}

export type ResolverFactory = (setup: ResolverSetup) => Promise<ResolverUnderTest>;

/** CoreDNS with the `kubernetes` plugin and the admin kubeconfig, no upstream (nothing leaves loopback). */
export const startCoreDNS: ResolverFactory = async (setup) => {
  const { coredns } = await ensureBinaries(['coredns'], (line) => { process.stderr.write(`# coredns build: ${line}\n`); });
  const domain = setup.clusterDomain ?? 'cluster.local';
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'clusterdns-coredns-'));
  const corefile = join(dir, 'Corefile');
  writeFileSync(corefile, `.:${port} {
    bind 127.0.0.1
    errors
    kubernetes ${domain} in-addr.arpa ip6.arpa {
        kubeconfig ${controlPlane().kubeconfigPath}
        pods ${setup.pods}
        fallthrough in-addr.arpa ip6.arpa
        ttl ${setup.ttl ?? 30}
    }
}
`);
  const logFile = join(dir, 'coredns.log');
  const child = ManagedProcess.start({ name: 'coredns', command: coredns, args: ['-conf', corefile], logFile });
  const logTail = (): string => {
    try {
      return readFileSync(logFile, 'utf8').split('\n').slice(-20).join('\n');
    } catch {
      return '(no log)';
    }
  };
  const stop = async (): Promise<void> => {
    await child.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor('coredns', async () => !('error' in await ask({ host: '127.0.0.1', port }, { name: `dns-version.${domain}.`, type: 'TXT' }, { timeoutMs: 500, attempts: 1 })),
      30_000, () => (child.hasExited ? `${child.exitDescription}\n${logTail()}` : undefined));
  } catch (error) {
    await stop();
    throw error;
  }
  return { address: `127.0.0.1:${port}`, port, stop, logTail };
};
