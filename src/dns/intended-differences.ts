/**
 * The intended differences between clusterdns' resolver and CoreDNS's kubernetes plugin
 * (docs/coredns-differences.md), as rules that recognise one in a pair of normalised answers
 * (answers.ts). `clusterdns compare` and the resolver's shadow comparison both list those
 * apart, as intended, and do not count them as differences.
 *
 * They apply only between the resolver and another server, in their documented direction:
 * compare tells the resolver by its answer to ANY (RFC 8482's HINFO, `identify`); the shadow
 * comparison is told its baseline's engine by its configuration. Between two servers of one
 * kind (two CoreDNS releases, two resolver versions) every difference counts, even one of
 * these shapes: CoreDNS 1.8.4, for one, answers TXT at `svc.<zone>` NODATA where 1.15.0
 * answers NXDOMAIN, and a canary of that upgrade must see it. Pure.
 */
import type { NormalisedAnswer } from './answers.ts';

/** A question by name (presentation form, any case, with or without the trailing dot) and type (`A`, `TXT`, ...). */
export interface AskedQuestion {
  readonly name: string;
  readonly type: string;
}

export interface IntendedDifference {
  /** Stable; docs/coredns-differences.md names each rule by it. */
  readonly id: string;
  readonly summary: string;
  /** `theirs` is the other server's answer (CoreDNS's), `ours` the resolver's. */
  readonly matches: (question: AskedQuestion, theirs: NormalisedAnswer, ours: NormalisedAnswer, domain: string) => boolean;
}

/** What a server is, as far as the intended differences go. */
export type ServerKind = 'clusterdns' | 'other';

type Answered = Extract<NormalisedAnswer, { rcode: string }>;

const answered = (a: NormalisedAnswer): a is Answered => !('error' in a);
const nxdomain = (a: NormalisedAnswer): boolean => answered(a) && a.rcode === 'NXDOMAIN' && a.answer.length === 0;
const nodata = (a: NormalisedAnswer): boolean => answered(a) && a.rcode === 'NOERROR' && a.answer.length === 0;
/** RFC 8482's answer to ANY: one synthesized HINFO. */
const rfc8482 = (a: NormalisedAnswer): boolean => answered(a) && a.answer.length === 1 && /\sHINFO\s.*RFC8482/i.test(a.answer[0] ?? '');

/** Where a name sits in the cluster domain: the labels below the apex, outermost last (`[]` is the apex); undefined outside it. */
function below(name: string, domain: string): string[] | undefined {
  const fqdn = name.toLowerCase().replace(/\.$/, '');
  const zone = domain.toLowerCase().replace(/\.$/, '');
  if (fqdn === zone) return [];
  return fqdn.endsWith(`.${zone}`) ? fqdn.slice(0, -zone.length - 1).split('.') : undefined;
}

/** The apex, `svc`, `pod`, `<namespace>.svc` or `<namespace>.pod`: names that exist without records of their own. */
function structural(labels: readonly string[]): boolean {
  if (labels.length === 0) return true;
  if (labels.length === 1) return labels[0] === 'svc' || labels[0] === 'pod';
  return labels.length === 2 && (labels[1] === 'svc' || labels[1] === 'pod');
}

export const INTENDED_DIFFERENCES: readonly IntendedDifference[] = [
  {
    id: 'txt-at-existing-names',
    summary: 'TXT at the apex, svc, pod or a namespace: NXDOMAIN (CoreDNS) against NODATA (the names exist)',
    matches: (q, theirs, ours, domain) => {
      const labels = below(q.name, domain);
      return q.type === 'TXT' && labels !== undefined && structural(labels) && nxdomain(theirs) && nodata(ours);
    },
  },
  {
    id: 'dns-version-and-ns-types',
    summary: 'dns-version for types but TXT, ns.dns for TXT and PTR: NXDOMAIN (CoreDNS) against NODATA (the names exist)',
    matches: (q, theirs, ours, domain) => {
      const name = below(q.name, domain)?.join('.');
      const shape = (name === 'dns-version' && q.type !== 'TXT') || (name === 'ns.dns' && (q.type === 'TXT' || q.type === 'PTR'));
      return shape && nxdomain(theirs) && nodata(ours);
    },
  },
  {
    id: 'soa-below-the-apex',
    summary: 'SOA at a name below the apex that does not exist: NODATA (CoreDNS) against NXDOMAIN',
    matches: (q, theirs, ours, domain) => q.type === 'SOA' && (below(q.name, domain)?.length ?? 0) > 0 && nodata(theirs) && nxdomain(ours),
  },
  {
    id: 'any-rfc8482',
    summary: 'ANY: NODATA or NXDOMAIN (CoreDNS) against one synthesized HINFO "RFC8482" (RFC 8482)',
    matches: (q, theirs, ours) => q.type === 'ANY' && (nodata(theirs) || nxdomain(theirs)) && rfc8482(ours),
  },
  {
    id: 'ns-at-the-apex',
    summary: 'NS at the apex from a server without a non-loopback address: NODATA (CoreDNS) against ns.dns.<zone>',
    matches: (q, theirs, ours, domain) => {
      const zone = domain.toLowerCase().replace(/\.$/, '');
      const named = answered(ours) && ours.answer.length === 1 && ours.answer[0] === `${zone}. NS ns.dns.${zone}.`;
      return q.type === 'NS' && below(q.name, domain)?.length === 0 && named && nodata(theirs);
    },
  },
];

/** The intended difference that the other server's and the resolver's answers to `question` are, if any. */
export function intendedDifference(question: AskedQuestion, theirs: NormalisedAnswer, ours: NormalisedAnswer, domain: string): IntendedDifference | undefined {
  return INTENDED_DIFFERENCES.find((rule) => rule.matches(question, theirs, ours, domain));
}

/** The question whose answer tells the resolver from other servers (`identify`). */
export function identityQuestion(domain: string): AskedQuestion & { readonly type: 'ANY' } {
  return { name: `dns-version.${domain.replace(/\.$/, '')}.`, type: 'ANY' };
}

/** The resolver answers ANY at dns-version, a name that exists, with RFC 8482's HINFO; CoreDNS (without its `any` plugin) does not. */
export function identify(answerToIdentityQuestion: NormalisedAnswer): ServerKind {
  return rfc8482(answerToIdentityQuestion) ? 'clusterdns' : 'other';
}
