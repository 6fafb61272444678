/**
 * `clusterdns local --node real`: the product as a user meets it on a cluster, on one real
 * node of this machine. The image is built here from the Dockerfile, `config/default` is
 * applied as the README tells a user to (the operator as its Deployment with two replicas,
 * leader election, its webhook and RBAC), then the sample ClusterDNS; its resolvers run as
 * pods, and packets go to its clusterIP inside the node's network.
 */
import { join } from 'node:path';
import { DEFAULT_NAMESPACE } from '../api/names.ts';
import { ensureBinaries } from './binaries.ts';
import { buildCorednsImage, releaseOf } from './coredns-image.ts';
import type { BuiltImage } from './image-build.ts';
import { Kubectl } from './kubectl.ts';
import { waitFor } from './net.ts';
import { buildClusterdnsImages, productVersion } from './node-images.ts';
import { KUBE_DNS, kubeDNSObjects } from './kube-dns.ts';
import { assertNodeRequirements, loadBridgeNetfilter } from './node-requirements.ts';
import { RealNode } from './real-node.ts';
import { readVersions, repositoryRoot } from './repo.ts';
import type { LocalStateDir } from './state.ts';

/** The names the node's stand-in upstream answers (nothing leaves the node). */
export const UPSTREAM_RECORDS: Readonly<Record<string, string>> = { 'www.example.test': '203.0.113.10' };
export const OPERATOR_DEPLOYMENT = 'clusterdns-operator';
const SAMPLE_CLUSTER_IP = '10.96.0.20';

/** Applies config/default and waits until the operator's Deployment is available; resolves with the milliseconds it took. */
export async function installDefault(kubectl: Kubectl, timeoutSeconds = 180): Promise<number> {
  const began = Date.now();
  await kubectl.apply({ kustomize: join(repositoryRoot(), 'config', 'default') });
  await kubectl.run(['-n', DEFAULT_NAMESPACE, 'rollout', 'status', `deployment/${OPERATOR_DEPLOYMENT}`, `--timeout=${timeoutSeconds}s`]);
  return Date.now() - began;
}

/** The CoreDNS release the node's kube-dns runs: hack/versions.env's reference CoreDNS, which hack/build-binaries.sh builds. */
export function kubeDNSVersion(): string {
  return readVersions().coredns;
}

/** CoreDNS's image of `version` for the node, from the cached binary (built first if missing). */
export async function kubeDNSImage(log: (line: string) => void, version = kubeDNSVersion()): Promise<BuiltImage> {
  const binaries = await ensureBinaries(['coredns'], log);
  return buildCorednsImage({ version, binary: binaries.coredns, log });
}

/**
 * Installs the cluster's own DNS as kubeadm does (kube-dns.ts; its image must be in the
 * node) and waits until kube-dns answers at its clusterIP; resolves with the milliseconds it took.
 */
export async function installKubeDNS(node: RealNode, kubectl: Kubectl, version = kubeDNSVersion(), timeoutSeconds = 180): Promise<number> {
  const began = Date.now();
  await kubectl.apply({ objects: kubeDNSObjects(releaseOf(version)) });
  await kubectl.run(['-n', KUBE_DNS.namespace, 'rollout', 'status', `deployment/${KUBE_DNS.deployment}`, `--timeout=${timeoutSeconds}s`]);
  await waitForAnswers(node, KUBE_DNS.clusterIP, 'kubernetes.default.svc.cluster.local', timeoutSeconds * 1000);
  return Date.now() - began;
}

/**
 * Waits until `dig @<clusterIP> <name>` from inside the node answers NOERROR: the Service's
 * endpoints are ready and kube-proxy has programmed them (a query right after the Service
 * appears can be refused).
 */
export async function waitForAnswers(node: RealNode, clusterIP: string, name: string, timeoutMs = 120_000): Promise<void> {
  await waitFor(`answers at ${clusterIP}`, async () => {
    const out = await node.sandbox.inside(['dig', `@${clusterIP}`, name, '+short', '+time=1', '+tries=1']);
    return out.trim() !== '';
  }, timeoutMs);
}

/** Runs the real node until `signal` aborts. Throws NodeRequirementsError before anything starts. */
export async function serveRealNode(state: LocalStateDir, say: (line: string) => void, signal: AbortSignal): Promise<void> {
  loadBridgeNetfilter();
  assertNodeRequirements();
  const began = Date.now();
  const [image] = await buildClusterdnsImages([productVersion()], say);
  if (!image) throw new Error('no image was built');
  say(`image ${image.name}: ${(image.bytes / 2 ** 20).toFixed(0)} MiB`);
  const coredns = await kubeDNSImage(say);
  const node = await RealNode.start({ log: say, images: [image.archive, coredns.archive], upstreamRecords: UPSTREAM_RECORDS });
  try {
    const kubectl = new Kubectl(node.plane.binaries.kubectl, node.plane.kubeconfigPath);
    const kubeDNSMs = await installKubeDNS(node, kubectl);
    say(`kube-dns (${coredns.name}) answering at ${KUBE_DNS.clusterIP} after ${(kubeDNSMs / 1000).toFixed(1)}s`);
    const operatorMs = await installDefault(kubectl);
    say(`config/default applied; the operator Deployment was available after ${(operatorMs / 1000).toFixed(1)}s`);
    await kubectl.apply({ kustomize: join(repositoryRoot(), 'config', 'samples') });
    await kubectl.run(['wait', '--for=condition=Available', '--timeout=180s', 'clusterdns/kube-dns-2']);
    await waitForAnswers(node, SAMPLE_CLUSTER_IP, 'kubernetes.default.svc.cluster.local');
    state.write({
      pid: process.pid, kubeconfig: node.plane.kubeconfigPath, kubectl: node.plane.binaries.kubectl, apiserver: node.plane.apiserverUrl,
      instances: [], node: { pid: node.sandbox.pid, address: node.address },
    });
    const table = await kubectl.run(['get', 'clusterdnses']);
    const kubeDNS = await kubectl.run(['-n', KUBE_DNS.namespace, 'get', `deployment/${KUBE_DNS.deployment}`, `service/${KUBE_DNS.name}`]);
    say(`ready ${((Date.now() - began) / 1000).toFixed(1)}s after start`);
    process.stdout.write(realNodeSummary(node, { table, kubeDNS, kubeDNSImage: coredns.name }, state.stateFile));
    // The node's processes do not hold the event loop (they are unref'd): a timer does, until Ctrl-C.
    const alive = setInterval(() => undefined, 60_000);
    try {
      if (!signal.aborted) await new Promise((resolve) => { signal.addEventListener('abort', resolve, { once: true }); });
    } finally {
      clearInterval(alive);
    }
  } finally {
    await node.stop();
  }
}

interface SummaryTables {
  readonly table: string;
  readonly kubeDNS: string;
  readonly kubeDNSImage: string;
}

function realNodeSummary(node: RealNode, tables: SummaryTables, stateFile: string): string {
  const exec = 'npm run -s clusterdns -- local exec --';
  const { namespace, name, deployment, clusterIP } = KUBE_DNS;
  return [
    '',
    `clusterdns is running on a real node (node IP ${node.address}, its network is that of pid ${node.sandbox.pid}).`,
    '',
    '$ kubectl get cdns',
    tables.table.trimEnd(),
    '',
    `The cluster's own DNS, as kubeadm installs it (${tables.kubeDNSImage}; every ClusterDNS's default baseline):`,
    `$ kubectl -n ${namespace} get deployment/${deployment} service/${name}`,
    tables.kubeDNS.trimEnd(),
    '',
    'Use the cluster with the kubectl built beside it:',
    `  export KUBECONFIG=${node.plane.kubeconfigPath}`,
    `  alias kubectl=${node.plane.binaries.kubectl}`,
    `  kubectl -n ${DEFAULT_NAMESPACE} get pods -o wide`,
    '',
    'Ask the instance from inside the node\'s network (pod and Service addresses exist only there):',
    `  ${exec} dig @${SAMPLE_CLUSTER_IP} kubernetes.default.svc.cluster.local`,
    `  ${exec} dig @${SAMPLE_CLUSTER_IP} ${Object.keys(UPSTREAM_RECORDS)[0] ?? ''}    # forwarded to the node's stand-in upstream`,
    `  ${exec} dig @${clusterIP} kubernetes.default.svc.cluster.local    # kube-dns (CoreDNS)`,
    '',
    `Facts for scripts: ${stateFile}`,
    'Press Ctrl-C to stop; everything the node started goes with it.',
    '',
  ].join('\n');
}
