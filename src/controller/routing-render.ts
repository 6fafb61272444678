/**
 * The routing parts of an instance's children, as pure functions of the rendered children and
 * of what routing decided: the Service with or without its selector, and the operator's
 * EndpointSlice of it.
 */
import type { ClusterDNS } from '../api/clusterdns.ts';
import { hash, manifest } from './render.ts';
import type { Manifest, RenderConfig } from './render.ts';
import { MANAGED_BY_LABEL, OPERATOR_SLICE_MANAGER, SERVICE_NAME_LABEL, SLICE_SERVING_LABEL, SLICE_SOURCE_ANNOTATION, operatorSliceName, sliceBody } from './slices.ts';
import type { SliceContent, SlicePort } from './slices.ts';

interface ServicePortSpec { name?: string; port: number; protocol?: string; targetPort?: number | string }
interface ContainerPortSpec { name?: string; containerPort: number; protocol?: string }

/** On a Service that keeps an instance's old clusterIP for the pods injected with it. */
export const RETIRED_LABEL = 'clusterdns.io/retired';
/** On the same: the old clusterIP it keeps (an annotation: an IPv6 address is no label value). */
export const RETIRED_ADDRESS_ANNOTATION = 'clusterdns.io/retired-address';

/** `<name>-<8 hex digits of the address>`: a Service name (at most 63 characters, starting with a letter). */
export function retiredServiceName(name: string, address: string): string {
  return `${name.slice(0, 54)}-${hash(address).slice(0, 8)}`;
}

/** The main Service (as routed) renamed to hold the old address `address`. */
export function retiredService(service: Manifest, name: string, address: string): Manifest {
  return {
    ...service,
    metadata: {
      ...service.metadata,
      name: retiredServiceName(name, address),
      labels: { ...service.metadata.labels, [RETIRED_LABEL]: 'true' },
      annotations: { ...service.metadata.annotations, [RETIRED_ADDRESS_ANNOTATION]: address },
    },
    spec: { ...(service['spec'] as Record<string, unknown>), clusterIP: address },
  };
}

/**
 * On an instance's Service, and so (kube-controller-manager copies a Service's labels) on its
 * legacy Endpoints: the EndpointSlice mirroring controller then never copies those Endpoints
 * into a slice, which it would do the moment routing drops the selector, bringing the
 * instance's endpoints back beside the baseline's.
 */
export const SKIP_MIRROR_LABEL = 'endpointslice.kubernetes.io/skip-mirror';

/**
 * The Service as rendered and labelled to be skipped by the mirroring controller, without its
 * selector when the baseline answers (server-side apply then removes it).
 */
export function routedService(service: Manifest, selector: boolean): Manifest {
  const labelled = { ...service, metadata: { ...service.metadata, labels: { ...service.metadata.labels, [SKIP_MIRROR_LABEL]: 'true' } } };
  if (selector) return labelled;
  const { selector: _dropped, ...spec } = service['spec'] as Record<string, unknown>;
  return { ...labelled, spec };
}

/**
 * The ports an endpoint of the instance's own pods has, named as the Service names them: the
 * Service's target ports, a named one looked up among the Deployment's container ports.
 */
export function instancePorts(desired: readonly Manifest[]): SlicePort[] {
  const service = desired.find((m) => m.kind === 'Service');
  const deployment = desired.find((m) => m.kind === 'Deployment');
  const containers = ((deployment?.['spec'] as { template?: { spec?: { containers?: Array<{ ports?: ContainerPortSpec[] }> } } } | undefined)
    ?.template?.spec?.containers ?? []).flatMap((c) => c.ports ?? []);
  const ports = ((service?.['spec'] as { ports?: ServicePortSpec[] } | undefined)?.ports ?? []);
  return ports.flatMap((p) => {
    const protocol = p.protocol ?? 'TCP';
    const target = typeof p.targetPort === 'string'
      ? containers.find((c) => c.name === p.targetPort && (c.protocol ?? 'TCP') === protocol)?.containerPort
      : p.targetPort ?? p.port;
    return target === undefined ? [] : [{ name: p.name ?? '', port: target, protocol }];
  });
}

/** The operator's EndpointSlice of the Service `service` of `cr`, holding `content`. */
export function routingSlice(cr: ClusterDNS, config: RenderConfig, service: string, content: SliceContent): Manifest {
  const base = manifest('EndpointSlice', cr, config, sliceBody(content));
  return {
    ...base,
    metadata: {
      ...base.metadata,
      name: operatorSliceName(service),
      labels: { ...base.metadata.labels, [SERVICE_NAME_LABEL]: service, [MANAGED_BY_LABEL]: OPERATOR_SLICE_MANAGER, [SLICE_SERVING_LABEL]: content.serving },
      ...(content.source ? { annotations: { [SLICE_SOURCE_ANNOTATION]: content.source } } : {}),
    },
  };
}
