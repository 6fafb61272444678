/**
 * What local mode tells its user (the terminal summary) and scripts (`local.json`), as pure
 * functions of the facts.
 */
import { DEMO_NAMESPACE } from './demo.ts';
import { KUBE_DNS } from './kube-dns.ts';
import type { ServedInstance } from './resolvers.ts';
import type { LocalState } from './state.ts';

export interface LocalFacts {
  readonly pid: number;
  readonly kubeconfig: string;
  readonly kubectl: string;
  readonly apiserver: string;
}

/** How to run `clusterdns` from this checkout (for the printed compare lines). */
export interface ClusterdnsCommand {
  readonly node: string;
  readonly main: string;
}

/** A dig command that asks an instance's loopback resolver for the demo Service. */
export function digCommand(instance: ServedInstance): string {
  return `dig @${instance.address} -p ${instance.port} web.${DEMO_NAMESPACE}.svc.${instance.clusterDomain}`;
}

/** `clusterdns compare` of an instance against kube-dns, both on loopback. */
export function compareCommand(kubeDNS: ServedInstance, instance: ServedInstance, kubeconfig: string): string {
  return `clusterdns compare --baseline ${kubeDNS.address}:${kubeDNS.port} --candidate ${instance.address}:${instance.port} --kubeconfig ${kubeconfig}`;
}

export function localState(facts: LocalFacts, instances: readonly ServedInstance[]): LocalState {
  return {
    ...facts,
    instances: instances.map((i) => ({
      name: i.name, engine: i.engine, version: i.version, clusterIP: i.clusterIP, clusterDomain: i.clusterDomain,
      resolver: i.port > 0 ? `${i.address}:${i.port}` : '', ready: i.ready, ...(i.error ? { error: i.error } : {}),
    })),
  };
}

/** `# kube-dns-2 clusterdns 0.1.0, clusterIP 10.96.0.20` */
function describe(instance: ServedInstance): string {
  const what = `${instance.name} ${instance.engine === 'coredns' ? 'CoreDNS' : 'clusterdns'} ${instance.version}`;
  return `${what}${instance.clusterIP ? `, clusterIP ${instance.clusterIP}` : ''}`;
}

/** The lines printed once everything is up. */
export function summaryText(facts: LocalFacts, clusterDnsTable: string, instances: readonly ServedInstance[], stateFile: string, clusterdns: ClusterdnsCommand): string {
  const kubeDNS = instances.find((i) => i.name === KUBE_DNS.name && i.ready);
  const served = instances.filter((i) => i.ready);
  const others = served.filter((i) => i !== kubeDNS);
  const lines = [
    '',
    'clusterdns is running on this machine.',
    '',
    '$ kubectl get cdns',
    clusterDnsTable.trimEnd(),
    '',
    'Use the cluster with the kubectl built beside it:',
    `  export KUBECONFIG=${facts.kubeconfig}`,
    `  alias kubectl=${facts.kubectl}`,
    '',
    'Ask each instance (its resolver runs on loopback):',
    ...served.map((i) => `  ${digCommand(i)}    # ${describe(i)}`),
    ...instances.filter((i) => !i.ready && i.error).map((i) => `  (${i.name} is not served: ${i.error})`),
    '',
    ...(kubeDNS && others.length > 0 ? [
      'Compare each instance with kube-dns (exit code 0: the same answers, apart from the intended differences',
      'of docs/coredns-differences.md, which it lists):',
      `  alias clusterdns='${clusterdns.node} ${clusterdns.main}'`,
      ...others.map((i) => `  ${compareCommand(kubeDNS, i, facts.kubeconfig)}    # ${i.name}`),
      '',
    ] : []),
    `Facts for scripts: ${stateFile}`,
    'Apply another ClusterDNS and it is served here within seconds. Press Ctrl-C to stop.',
    '',
  ];
  return lines.join('\n');
}
