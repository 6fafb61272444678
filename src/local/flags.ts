/**
 * Command lines of the control plane's parts: pure functions of ports, paths and the PKI,
 * so that what each part is told is in one readable place.
 */
import type { Pki } from './pki.ts';

/** Where the parts listen: loopback, or a real node's IP inside its network namespace. */
export interface Listen {
  readonly host: string;
  /** The parts serve a real node: Node authorization, the kubernetes Service's endpoints, kubelet client certificates. */
  readonly realNode: boolean;
}

export const LOOPBACK: Listen = { host: '127.0.0.1', realNode: false };

export interface Ports {
  readonly etcdClient: number;
  readonly etcdPeer: number;
  readonly apiserver: number;
  readonly controllerManager: number;
  readonly scheduler: number;
  readonly kwok: number;
}

export function etcdArgs(ports: Ports, dataDir: string, listen: Listen = LOOPBACK): string[] {
  const client = `http://${listen.host}:${ports.etcdClient}`;
  const peer = `http://${listen.host}:${ports.etcdPeer}`;
  return [
    '--name=default',
    `--data-dir=${dataDir}`,
    `--listen-client-urls=${client}`,
    `--advertise-client-urls=${client}`,
    `--listen-peer-urls=${peer}`,
    `--initial-advertise-peer-urls=${peer}`,
    `--initial-cluster=default=${peer}`,
    // Throwaway data: durability buys nothing here and fsync dominates on small disks.
    '--unsafe-no-fsync',
    '--log-level=warn',
  ];
}

export function apiserverArgs(ports: Ports, pki: Pki, serviceCidr: string, certDir: string, listen: Listen = LOOPBACK): string[] {
  return [
    `--etcd-servers=http://${listen.host}:${ports.etcdClient}`,
    `--secure-port=${ports.apiserver}`,
    `--bind-address=${listen.host}`,
    // Without it the apiserver looks for an address on a default route, which a sandbox may lack.
    `--advertise-address=${listen.host}`,
    `--cert-dir=${certDir}`,
    `--tls-cert-file=${pki.servingCertFile}`,
    `--tls-private-key-file=${pki.servingKeyFile}`,
    `--client-ca-file=${pki.caFile}`,
    '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
    `--service-account-key-file=${pki.serviceAccountPublicKeyFile}`,
    `--service-account-signing-key-file=${pki.serviceAccountKeyFile}`,
    `--service-cluster-ip-range=${serviceCidr}`,
    '--allow-privileged=true',
    '--enable-priority-and-fairness=false',
    '--v=1',
    ...(listen.realNode ? realNodeApiserverArgs(pki) : [
      '--authorization-mode=RBAC',
      // The loopback advertise address is not a valid endpoint for the `kubernetes` Service.
      '--endpoint-reconciler-type=none',
    ]),
  ];
}

/** A kubelet is authorized as its node only (as in kubeadm); pods reach the apiserver at the node IP. */
function realNodeApiserverArgs(pki: Pki): string[] {
  if (!pki.node) throw new Error('a real node needs its identities in the PKI');
  return [
    '--authorization-mode=Node,RBAC',
    '--enable-admission-plugins=NodeRestriction',
    // kubectl logs and exec go through the kubelet, which authenticates the apiserver by this certificate.
    `--kubelet-client-certificate=${pki.node.apiserverKubeletClientCertFile}`,
    `--kubelet-client-key=${pki.node.apiserverKubeletClientKeyFile}`,
    '--kubelet-preferred-address-types=InternalIP',
  ];
}

/** The controllers that Deployments, Services, namespaces and owner references need. */
export const CONTROLLERS = [
  'deployment-controller',
  'replicaset-controller',
  'endpointslice-controller',
  // As in any cluster: the legacy Endpoints and their mirror into slices, which routing must
  // keep from copying an instance's old endpoints beside its baseline's.
  'endpoints-controller',
  'endpointslice-mirroring-controller',
  'garbage-collector-controller',
  'namespace-controller',
  'serviceaccount-controller',
  'serviceaccount-token-controller',
  'root-ca-certificate-publisher-controller',
  'disruption-controller',
  // Lifts the not-ready taint that admission puts on every new Node once KWOK reports it Ready.
  'node-lifecycle-controller',
] as const;

export function controllerManagerArgs(ports: Ports, kubeconfig: string, pki: Pki, serviceCidr: string, certDir: string, listen: Listen = LOOPBACK): string[] {
  return [
    `--kubeconfig=${kubeconfig}`,
    `--authentication-kubeconfig=${kubeconfig}`,
    `--authorization-kubeconfig=${kubeconfig}`,
    `--bind-address=${listen.host}`,
    `--secure-port=${ports.controllerManager}`,
    `--cert-dir=${certDir}`,
    '--leader-elect=false',
    // Each controller acts as its own service account with its bootstrap RBAC role, as in kubeadm.
    '--use-service-account-credentials=true',
    `--service-cluster-ip-range=${serviceCidr}`,
    `--root-ca-file=${pki.caFile}`,
    `--service-account-private-key-file=${pki.serviceAccountKeyFile}`,
    `--controllers=${CONTROLLERS.join(',')}`,
    // Garbage collection and rollouts are asserted by tests: sync objects quickly.
    '--concurrent-gc-syncs=5',
    '--v=1',
  ];
}

export function schedulerArgs(ports: Ports, kubeconfig: string, certDir: string, listen: Listen = LOOPBACK): string[] {
  return [
    `--kubeconfig=${kubeconfig}`,
    `--authentication-kubeconfig=${kubeconfig}`,
    `--authorization-kubeconfig=${kubeconfig}`,
    `--bind-address=${listen.host}`,
    `--secure-port=${ports.scheduler}`,
    `--cert-dir=${certDir}`,
    '--leader-elect=false',
    '--v=1',
  ];
}

export function kwokArgs(ports: Ports, kubeconfig: string, stagesFile: string, podCidr: string): string[] {
  return [
    `--kubeconfig=${kubeconfig}`,
    `--config=${stagesFile}`,
    '--manage-all-nodes=false',
    '--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake',
    `--cidr=${podCidr}`,
    // The node-heartbeat-with-lease stage updates node status only every ~10 minutes and
    // relies on KWOK renewing each node's Lease; without leases the node-lifecycle
    // controller marks the nodes NotReady after its grace period, and every pod unready.
    '--node-lease-duration-seconds=40',
    '--node-ip=127.0.0.1',
    `--server-address=127.0.0.1:${ports.kwok}`,
  ];
}
