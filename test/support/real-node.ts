/**
 * The one real node of an integration test run, started on first use and shared by every
 * test that needs pods that really run (stopped by test/support/global-setup.ts). It carries
 * the product's image in two versions (for upgrades), a tools image with nslookup and dig,
 * CoreDNS's image for the cluster's own DNS (kube-system/kube-dns, as kubeadm installs it:
 * every ClusterDNS's default baseline), and `config/default` installed: the operator runs as
 * its Deployment.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { KubeClient, loadKubeConfig } from '../../src/kube/client.ts';
import type { BuiltImage } from '../../src/local/image-build.ts';
import { Kubectl } from '../../src/local/kubectl.ts';
import { waitFor } from '../../src/local/net.ts';
import { buildClusterdnsImages, imageBuilder, productVersion } from '../../src/local/node-images.ts';
import { RealNode } from '../../src/local/real-node.ts';
import { installDefault, installKubeDNS, kubeDNSImage, UPSTREAM_RECORDS } from '../../src/local/real-mode.ts';
import { repositoryRoot } from '../../src/local/repo.ts';

export interface NodeImages {
  /** The product at package.json's version, and the same content labelled one patch later. */
  readonly current: BuiltImage;
  readonly next: BuiltImage;
  readonly tools: BuiltImage;
  /** CoreDNS's image, which kube-system/kube-dns runs. */
  readonly coredns: BuiltImage;
}

export interface NodeUnderTest {
  readonly node: RealNode;
  readonly kubectl: Kubectl;
  readonly client: KubeClient;
  readonly images: NodeImages;
  /** Upstream names the node's stand-in resolver answers, with their address. */
  readonly upstreamRecords: Readonly<Record<string, string>>;
  /** Figures for the report: image builds, node start, config/default until the operator is available. */
  readonly figures: Readonly<Record<string, number>>;
}

export const TOOLS_IMAGE = 'localhost/clusterdns-test-tools:1';

let started: Promise<NodeUnderTest> | undefined;

/** The shared node; the first call starts it (a few minutes when nothing is cached). */
export function realNode(): Promise<NodeUnderTest> {
  started ??= start();
  return started;
}

export async function stopRealNode(): Promise<void> {
  const running = await started?.catch(() => undefined);
  started = undefined;
  await running?.node.stop();
}

/** One patch release after `version` (0.1.0 → 0.1.1). */
export function nextPatch(version: string): string {
  const [major, minor, patch] = version.split('.').map(Number);
  return `${major ?? 0}.${minor ?? 0}.${(patch ?? 0) + 1}`;
}

async function start(): Promise<NodeUnderTest> {
  const log = (line: string): void => { process.stderr.write(`# real node: ${line}\n`); };
  const figures: Record<string, number> = {};
  const version = productVersion();
  let began = Date.now();
  const [current, next] = await buildClusterdnsImages([version, nextPatch(version)], log);
  const tools = await (await imageBuilder(log)).build({
    name: TOOLS_IMAGE, dockerfile: join(repositoryRoot(), 'test', 'support', 'tools.Dockerfile'), context: join(repositoryRoot(), 'test', 'support'), inputs: [],
  });
  if (!current || !next) throw new Error('the product images were not built');
  figures['imagesMs'] = Date.now() - began;
  figures['imageBytes'] = current.bytes;
  began = Date.now();
  const coredns = await kubeDNSImage(log);
  figures['corednsImageMs'] = Date.now() - began;
  figures['corednsImageBytes'] = coredns.bytes;
  began = Date.now();
  const node = await RealNode.start({ log, images: [current.archive, next.archive, tools.archive, coredns.archive], upstreamRecords: UPSTREAM_RECORDS });
  figures['nodeStartMs'] = Date.now() - began;
  try {
    const kubectl = new Kubectl(node.plane.binaries.kubectl, node.plane.kubeconfigPath);
    figures['kubeDNSAnsweringMs'] = await installKubeDNS(node, kubectl);
    figures['operatorAvailableMs'] = await installDefault(kubectl);
    log(`figures: ${JSON.stringify(figures)}`);
    return {
      node, kubectl, client: new KubeClient(loadKubeConfig(node.plane.kubeconfigPath)), images: { current, next, tools, coredns },
      upstreamRecords: UPSTREAM_RECORDS, figures,
    };
  } catch (error) {
    await node.stop();
    throw error;
  }
}

/** A new namespace on the node's cluster, once its default ServiceAccount exists. */
export async function nodeNamespace(harness: NodeUnderTest, prefix: string, labels: Record<string, string> = {}): Promise<string> {
  const name = `${prefix}-${randomBytes(3).toString('hex')}`;
  await harness.kubectl.apply({ objects: [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } }] });
  await waitFor(`the default ServiceAccount of ${name}`, async () => {
    await harness.client.request('GET', `/api/v1/namespaces/${name}/serviceaccounts/default`);
    return true;
  }, 60_000);
  return name;
}
