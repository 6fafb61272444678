/** The fake nodes that KWOK plays the kubelet for. */

/** A Node that KWOK manages (by its annotation); no taint, so any pod may land on it. */
export function fakeNode(name: string): object {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      annotations: { 'kwok.x-k8s.io/node': 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
      labels: {
        'kubernetes.io/hostname': name,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        'node.kubernetes.io/instance-type': 'kwok',
        type: 'kwok',
      },
    },
  };
}

interface NodeLike {
  spec?: { taints?: Array<{ key?: string; effect?: string }> };
  status?: { conditions?: Array<{ type?: string; status?: string }> };
}

/**
 * Ready, and rid of the `node.kubernetes.io/not-ready` taint that admission puts on every new
 * Node (the node lifecycle controller lifts it a moment after Ready): pods can land on it.
 */
export function isNodeSchedulable(node: unknown): boolean {
  const { spec, status } = node as NodeLike;
  const ready = (status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
  return ready && !(spec?.taints ?? []).some((t) => t.effect === 'NoSchedule' || t.effect === 'NoExecute');
}
