/**
 * One shadowed query judged: this resolver's answer against the baseline's, with the
 * normalisation of `clusterdns compare` (src/dns/answers.ts: record order, TTLs, the SOA
 * serial and name case do not count) and its intended differences
 * (src/dns/intended-differences.ts) counted apart, when the baseline is another engine
 * (this resolver is clusterdns; the baseline's engine comes from the shadow config). Pure;
 * loaded only when shadowing is on.
 *
 * Names answered from upstream (forwarded, or from the cache of forwarded answers) are
 * judged by their rcode alone: each server asks upstream at its own moment and keeps its own
 * cache, and many external names (CDNs, load balancers) hand out other addresses each time,
 * so their records would differ without anything being wrong.
 */
import { decode } from 'dns-packet';
import type { DecodedPacket } from 'dns-packet';
import { MAX_ANSWER_TEXT } from '../../api/shadow-bounds.ts';
import type { ShadowMismatch } from '../../api/shadow-summary.ts';
import { normalise, sameAnswer, summarise } from '../../dns/answers.ts';
import type { NormalisedAnswer } from '../../dns/answers.ts';
import { intendedDifference } from '../../dns/intended-differences.ts';
import type { ServerKind } from '../../dns/intended-differences.ts';

export interface ShadowedQuestion {
  /** As asked, without the trailing dot. */
  readonly name: string;
  /** Answered from upstream (forwarded or cached): judged by rcode only. */
  readonly upstream: boolean;
}

/** Where the comparison happens: the cluster zone, and what the baseline is. */
export interface ComparisonScope {
  readonly zone: string;
  readonly baseline: ServerKind;
}

export type Verdict =
  | { readonly kind: 'same' }
  | { readonly kind: 'mismatch'; readonly mismatch: Omit<ShadowMismatch, 'time'> }
  /** The baseline's answer cannot be used: undecodable, or not an answer to this question. */
  | { readonly kind: 'malformed'; readonly why: string };

export function compareAnswers(question: ShadowedQuestion, ours: Buffer, theirs: Buffer, scope: ComparisonScope): Verdict {
  const own = tryDecode(ours);
  const baseline = tryDecode(theirs);
  if (typeof baseline === 'string') return { kind: 'malformed', why: `the baseline's answer: ${baseline}` };
  if (typeof own === 'string') return { kind: 'malformed', why: `our own answer: ${own}` };
  const asked = own.questions?.[0];
  const answered = baseline.questions?.[0];
  if (baseline.type !== 'response' || !asked || !answered || answered.name.toLowerCase() !== asked.name.toLowerCase() || answered.type !== asked.type) {
    return { kind: 'malformed', why: 'the baseline answered another question' };
  }
  const a = normalise(own);
  const b = normalise(baseline);
  if (question.upstream ? rcodeOf(a) === rcodeOf(b) : sameAnswer(a, b)) return { kind: 'same' };
  const type: string = asked.type;
  // The rules read (theirs, ours): the baseline's answer, then this resolver's.
  const rule = scope.baseline === 'other' ? intendedDifference({ name: question.name, type }, b, a, scope.zone) : undefined;
  // When the answers read the same, the difference is in the authority section: show it.
  const withAuthority = summarise(a) === summarise(b);
  return {
    kind: 'mismatch',
    mismatch: {
      question: `${question.name}. ${type}`,
      kind: rule ? 'intended' : rcodeOf(a) !== rcodeOf(b) ? 'rcode' : 'answer',
      ...(rule ? { rule: rule.id } : {}),
      answer: cut(summarise(a, withAuthority)),
      baseline: cut(summarise(b, withAuthority)),
    },
  };
}

function tryDecode(bytes: Buffer): DecodedPacket | string {
  try {
    return decode(bytes);
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

function rcodeOf(answer: NormalisedAnswer): string {
  return 'error' in answer ? 'ERROR' : answer.rcode;
}

function cut(text: string): string {
  return text.length <= MAX_ANSWER_TEXT ? text : `${text.slice(0, MAX_ANSWER_TEXT)}…`;
}
