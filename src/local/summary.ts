/**
 * What local mode tells its user (the terminal summary) and scripts (`local.json`), as pure
 * functions of the facts.
 */
import { DEMO_NAMESPACE } from './demo.ts';
import type { ServedInstance } from './resolvers.ts';
import type { LocalState } from './state.ts';

export interface LocalFacts {
  readonly pid: number;
  readonly kubeconfig: string;
  readonly kubectl: string;
  readonly apiserver: string;
}

/** A dig command that asks an instance's loopback resolver for the demo Service. */
export function digCommand(instance: ServedInstance): string {
  return `dig @${instance.address} -p ${instance.port} web.${DEMO_NAMESPACE}.svc.${instance.clusterDomain}`;
}

export function localState(facts: LocalFacts, instances: readonly ServedInstance[]): LocalState {
  return {
    ...facts,
    instances: instances.map((i) => ({
      name: i.name, version: i.version, clusterIP: i.clusterIP, clusterDomain: i.clusterDomain,
      resolver: `${i.address}:${i.port}`, ready: i.ready,
    })),
  };
}

/** The lines printed once everything is up. */
export function summaryText(facts: LocalFacts, clusterDnsTable: string, instances: readonly ServedInstance[], stateFile: string): string {
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
    ...instances.map((i) => `  ${digCommand(i)}    # ${i.name} ${i.version}${i.clusterIP ? `, clusterIP ${i.clusterIP}` : ''}`),
    '',
    `Facts for scripts: ${stateFile}`,
    'Apply another ClusterDNS and it is served here within seconds. Press Ctrl-C to stop.',
    '',
  ];
  return lines.join('\n');
}
