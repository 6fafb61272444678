/**
 * `clusterdns local` (`npm start`): the whole product on this machine. A real control plane
 * with KWOK nodes, the cluster's own kube-dns (kubeadm's CoreDNS), the CRD and RBAC, the
 * operator with its webhook, the sample ClusterDNS, a demo workload, and a real process on
 * loopback for kube-dns and for each ClusterDNS. Stays up until Ctrl-C, then stops everything
 * it started.
 */
import { isIP } from 'node:net';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CLUSTERDNS_PATH } from '../api/names.ts';
import { formatServer, parseServer } from '../compare/dns-client.ts';
import { KubeClient, loadKubeConfig } from '../kube/client.ts';
import { ControlPlane } from '../local/control-plane.ts';
import { CoreDNSBuilds } from '../local/coredns-builds.ts';
import { installDemo, installFoundations, installKubeDNS, installSamples } from '../local/install.ts';
import { KUBE_DNS, kubeDNSInstance } from '../local/kube-dns.ts';
import { Kubectl } from '../local/kubectl.ts';
import { waitFor } from '../local/net.ts';
import { startLocalOperator } from '../local/operator.ts';
import { readVersions, repositoryRoot } from '../local/repo.ts';
import { LocalResolvers } from '../local/resolvers.ts';
import { clusterdnsCommand } from '../local/self.ts';
import type { ServedInstance } from '../local/resolvers.ts';
import { AlreadyRunningError, LocalStateDir } from '../local/state.ts';
import { missingRequirements, NodeRequirementsError, probeHost } from '../local/node-requirements.ts';
import { runInNetwork } from '../local/node-exec.ts';
import { serveRealNode } from '../local/real-mode.ts';
import { compareCommand, digCommand, localState, summaryText } from '../local/summary.ts';
import type { LocalFacts } from '../local/summary.ts';

const USAGE = `usage: clusterdns local [--node kwok|real] [--state-dir DIR] [--upstream IP[:PORT]]
       clusterdns local exec [--state-dir DIR] -- COMMAND [ARGS...]

Runs the whole product on this machine: a local control plane with fake (KWOK) nodes, the
cluster's own kube-dns (kubeadm's CoreDNS at 10.96.0.10), the operator and its webhook, the
sample ClusterDNS, a demo workload, and one process on 127.0.0.1 for kube-dns and for each
ClusterDNS (CoreDNS of its release for engine coredns, built the first time). Stays up until
Ctrl-C.

With --node real (Linux, as root): one real node instead (kubelet, containerd, CNI,
kube-proxy) in a network namespace of its own; the image is built here from the Dockerfile,
config/default is installed (the operator as its Deployment) and the sample ClusterDNS runs
as pods behind its clusterIP 10.96.0.20. "local exec" runs a command inside that node's
network, e.g. clusterdns local exec -- dig @10.96.0.20 kubernetes.default.svc.cluster.local

flags:
  --node kwok|real       fake KWOK nodes (default; no root needed) or one real node
  --state-dir DIR        where local.json (the facts for scripts) and the lock go (default .clusterdns in the checkout)
  --upstream IP[:PORT]   where kube-dns and every instance without spec.upstream.nameservers forward names
                         outside the cluster (default: the nameservers of /etc/resolv.conf, as on a node)
`;

const AVAILABLE_TIMEOUT_MS = 120_000;

export async function run(args: string[]): Promise<number> {
  if (args[0] === 'exec') return exec(args.slice(1));
  let values;
  try {
    ({ values } = parseArgs({ args, options: { help: { type: 'boolean', short: 'h' }, 'state-dir': { type: 'string' }, node: { type: 'string', default: 'kwok' }, upstream: { type: 'string' } } }));
    if (values.node !== 'kwok' && values.node !== 'real') throw new Error(`--node must be kwok or real, not "${values.node}"`);
    if (values.upstream !== undefined) values.upstream = upstreamFlag(values.upstream);
  } catch (error) {
    process.stderr.write(`clusterdns local: ${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const say = (line: string): void => { process.stderr.write(`clusterdns local: ${line}\n`); };
  const state = new LocalStateDir(values['state-dir'] ?? join(repositoryRoot(), '.clusterdns'));
  if (values.node === 'real') {
    // Checked before the lock: a machine that cannot run the node gets the reason and nothing else.
    const missing = missingRequirements(probeHost());
    if (missing.length > 0) {
      say(new NodeRequirementsError(missing).message);
      return 1;
    }
  }
  try {
    state.lock();
  } catch (error) {
    if (!(error instanceof AlreadyRunningError)) throw error;
    say(error.message);
    return 1;
  }

  const stop = new AbortController();
  const onSignal = (): void => {
    if (!stop.signal.aborted) say('stopping (this takes a few seconds)');
    stop.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  if (values.node === 'real') return runRealNode(state, say, stop.signal);
  let plane: ControlPlane | undefined;
  try {
    plane = await ControlPlane.start({ log: say });
    if (!stop.signal.aborted) await serve(plane, state, say, stop.signal, values.upstream);
    return 0;
  } catch (error) {
    if (stop.signal.aborted) return 0;
    say(error instanceof Error ? error.message : String(error));
    return 1;
  } finally {
    await plane?.stop();
    state.clear();
  }
}

/** `--upstream`: an IP address with an optional port. */
function upstreamFlag(text: string): string {
  const server = parseServer(text);
  if (isIP(server.host) === 0) throw new Error(`--upstream must be IP[:PORT], not "${text}"`);
  return formatServer(server);
}

async function runRealNode(state: LocalStateDir, say: (line: string) => void, signal: AbortSignal): Promise<number> {
  try {
    await serveRealNode(state, say, signal);
    return 0;
  } catch (error) {
    if (signal.aborted) return 0;
    say(error instanceof Error ? error.message : String(error));
    return 1;
  } finally {
    state.clear();
  }
}

/** `clusterdns local exec -- COMMAND...`: COMMAND in the running real node's network. */
async function exec(args: string[]): Promise<number> {
  const separator = args.indexOf('--');
  const flags = separator === -1 ? [] : args.slice(0, separator);
  const command = separator === -1 ? args : args.slice(separator + 1);
  let stateDir: string | undefined;
  try {
    stateDir = parseArgs({ args: flags, options: { 'state-dir': { type: 'string' } } }).values['state-dir'];
  } catch (error) {
    process.stderr.write(`clusterdns local exec: ${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`);
    return 2;
  }
  if (command.length === 0) {
    process.stderr.write(`clusterdns local exec: no command given\n\n${USAGE}`);
    return 2;
  }
  const state = new LocalStateDir(stateDir ?? join(repositoryRoot(), '.clusterdns')).read();
  if (!state?.node) {
    process.stderr.write('clusterdns local exec: no real node is running (start one with: clusterdns local --node real)\n');
    return 1;
  }
  return runInNetwork(state.node.pid, command);
}

/** Installs and runs the product on `plane` until `signal` aborts. */
async function serve(plane: ControlPlane, state: LocalStateDir, say: (line: string) => void, signal: AbortSignal, upstream: string | undefined): Promise<void> {
  const began = Date.now();
  const kubectl = new Kubectl(plane.binaries.kubectl, plane.kubeconfigPath);
  const client = new KubeClient(loadKubeConfig(plane.kubeconfigPath));
  const facts: LocalFacts = { pid: process.pid, kubeconfig: plane.kubeconfigPath, kubectl: plane.binaries.kubectl, apiserver: plane.apiserverUrl };
  const builds = new CoreDNSBuilds({ log: say });
  const kubeDNSVersion = readVersions().kubeadmCoredns.replace(/^v/, '');
  // Before anything waits on it: the first start builds kubeadm's CoreDNS release.
  await builds.ensure(kubeDNSVersion);

  await installFoundations(kubectl);
  await installKubeDNS(kubectl, kubeDNSVersion);
  say(`kube-dns (CoreDNS ${kubeDNSVersion}, as kubeadm installs it), CRD and RBAC installed`);
  const analysisTargets = join(plane.dir, 'analysis-targets.json');
  await startLocalOperator(plane, analysisTargets);
  say('operator and webhook ready');

  let summarized = false;
  const reported = new Set<string>();
  const reportedErrors = new Map<string, string>();
  const resolvers = new LocalResolvers({
    client,
    kubeconfigPath: plane.kubeconfigPath,
    dir: plane.dir,
    builds,
    fixed: [kubeDNSInstance(kubeDNSVersion)],
    ...(upstream ? { upstream } : {}),
    analysisTargetsFile: analysisTargets,
    startProcess: (name, command, args) => plane.startCompanion(name, command, args),
    logFile: (name) => plane.logFile(name),
    log: say,
    onChange: (served) => {
      state.write(localState(facts, served));
      // After the summary, each newly served instance gets its own dig line.
      const kubeDNS = served.find((i) => i.name === KUBE_DNS.name && i.ready);
      for (const instance of served.filter((i) => i.ready && !reported.has(i.name))) {
        reported.add(instance.name);
        if (!summarized) continue;
        process.stdout.write(`${instance.name} is served: ${digCommand(instance)}\n`);
        if (kubeDNS && instance !== kubeDNS) process.stdout.write(`  compare it with kube-dns: ${compareCommand(kubeDNS, instance, facts.kubeconfig)}\n`);
      }
      // An instance that cannot be served says why, once per cause.
      for (const instance of served.filter((i) => i.error && summarized && reportedErrors.get(i.name) !== i.error)) {
        reportedErrors.set(instance.name, instance.error ?? '');
        process.stdout.write(`${instance.name} is not served: ${instance.error ?? ''}\n`);
      }
    },
  });
  // The resolvers also stop when starting fails half-way.
  const failed = new AbortController();
  const following = resolvers.run(AbortSignal.any([signal, failed.signal]));

  try {
    await installSamples(kubectl);
    await waitFor('the sample ClusterDNS to be Available and served', async () => allAvailable(client, resolvers.served()), AVAILABLE_TIMEOUT_MS, () => (signal.aborted ? 'interrupted' : undefined));
    // After the instance has its clusterIP, so that the webhook points the demo pods at it.
    await installDemo(kubectl);
    const table = await kubectl.run(['get', 'clusterdnses']);
    say(`ready ${process.uptime().toFixed(1)}s after start (control plane ${(plane.startupMs / 1000).toFixed(1)}s, product ${((Date.now() - began) / 1000).toFixed(1)}s)`);
    const self = clusterdnsCommand('compare', []);
    process.stdout.write(summaryText(facts, table, resolvers.served(), state.stateFile, { node: self.command, main: self.args[0] ?? '' }));
    summarized = true;
  } catch (error) {
    if (!signal.aborted) {
      failed.abort();
      await following;
      throw error;
    }
  }
  await following;
}

/** kube-dns and every ClusterDNS have a ready process on loopback, and every ClusterDNS reports Available=True. */
async function allAvailable(client: KubeClient, served: readonly ServedInstance[]): Promise<boolean> {
  const list = await client.request<{ items: Array<{ metadata: { name: string }; status?: { conditions?: Array<{ type: string; status: string }> } }> }>('GET', CLUSTERDNS_PATH);
  if (list.items.length === 0 || !served.some((i) => i.name === KUBE_DNS.name && i.ready)) return false;
  return list.items.every((item) =>
    item.status?.conditions?.some((c) => c.type === 'Available' && c.status === 'True')
    && served.some((i) => i.name === item.metadata.name && i.ready));
}
