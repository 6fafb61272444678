/**
 * What a name in the cluster zone asks for, read right to left as CoreDNS's `parse.go` does:
 *
 *   <zone>                                  the apex
 *   svc.<zone> | pod.<zone>                 the schema labels
 *   <ns>.svc|pod.<zone>                     a namespace
 *   <svc>.<ns>.svc.<zone>                   a service (or <pod>.<ns>.pod.<zone>)
 *   <endpoint>.<svc>.<ns>.svc.<zone>        an endpoint of a service
 *   _<port>._<proto>.<svc>.<ns>.svc.<zone>  a named port of a service
 *
 * Anything longer, or a second label other than `svc` or `pod`, names nothing. Pure.
 */

export interface RecordRequest {
  /** '' for the apex and the bare schema labels. */
  readonly podOrSvc: '' | 'svc' | 'pod';
  readonly namespace: string;
  /** The service, or for `pod` the dashed pod address. */
  readonly service: string;
  readonly endpoint: string;
  /** Port name without its underscore; '' matches any. */
  readonly port: string;
  /** Protocol without its underscore; '' matches any. */
  readonly protocol: string;
}

const NOTHING: RecordRequest = Object.freeze({ podOrSvc: '', namespace: '', service: '', endpoint: '', port: '', protocol: '' });

/**
 * Parses `base`, the lower-case name with the zone cut off ('' for the apex). Undefined
 * when the name cannot exist in the zone.
 */
export function parseRequest(base: string): RecordRequest | undefined {
  if (base === '' || base === 'svc' || base === 'pod') return NOTHING;
  const labels = base.split('.');
  const podOrSvc = labels.pop();
  if (podOrSvc !== 'svc' && podOrSvc !== 'pod') return undefined;
  const namespace = labels.pop() ?? '';
  const service = labels.pop() ?? '';
  switch (labels.length) {
    case 0:
      return { podOrSvc, namespace, service, endpoint: '', port: '', protocol: '' };
    case 1:
      return { podOrSvc, namespace, service, endpoint: labels[0] ?? '', port: '', protocol: '' };
    case 2:
      return { podOrSvc, namespace, service, endpoint: '', port: stripUnderscore(labels[0] ?? ''), protocol: stripUnderscore(labels[1] ?? '') };
    default:
      return undefined;
  }
}

function stripUnderscore(label: string): string {
  return label.startsWith('_') ? label.slice(1) : label;
}

/** The name below `zone` ('' for the zone itself), or undefined when `name` is not in it. */
export function trimZone(name: string, zone: string): string | undefined {
  if (name === zone) return '';
  if (name.length > zone.length && name.endsWith(zone) && name.charCodeAt(name.length - zone.length - 1) === 0x2e) {
    return name.slice(0, name.length - zone.length - 1);
  }
  return undefined;
}
