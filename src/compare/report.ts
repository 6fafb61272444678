/**
 * The result of a comparison and its two renderings: a table for people, JSON for scripts.
 * Differences that docs/coredns-differences.md documents as intended (src/dns/intended-differences.ts) are listed
 * apart and not counted. Pure: the same results always render to the same text.
 */
import type { NormalisedAnswer } from '../dns/answers.ts';
import { sameAnswer, summarise } from '../dns/answers.ts';
import { intendedDifference } from '../dns/intended-differences.ts';
import type { IntendedDifference, ServerKind } from '../dns/intended-differences.ts';
import type { Question } from './questions.ts';

export interface Asked {
  readonly question: Question;
  readonly baseline: NormalisedAnswer;
  readonly candidate: NormalisedAnswer;
}

/** A question answered differently in a way that is documented as intended. */
export interface IntendedAsked extends Asked {
  readonly rule: IntendedDifference;
}

/** What each server is, when compare could tell (intended differences apply only between the resolver and another). */
export interface Kinds {
  readonly baseline: ServerKind;
  readonly candidate: ServerKind;
}

export interface Report {
  readonly baseline: string;
  readonly candidate: string;
  readonly kinds?: Kinds;
  readonly asked: number;
  /** The questions answered differently, unexpectedly, in the order asked. */
  readonly differences: readonly Asked[];
  /** The questions answered differently as documented, in the order asked. */
  readonly intended: readonly IntendedAsked[];
}

/**
 * Sorts the results into the same, the intended differences and the unexpected ones.
 * `domain` is the cluster domain; without `kinds`, or between servers of one kind, every
 * difference is unexpected.
 */
export function buildReport(baseline: string, candidate: string, results: readonly Asked[], domain = 'cluster.local', kinds?: Kinds): Report {
  const differences: Asked[] = [];
  const intended: IntendedAsked[] = [];
  const oursIs = kinds && kinds.baseline !== kinds.candidate ? (kinds.baseline === 'clusterdns' ? 'baseline' : 'candidate') : undefined;
  for (const result of results) {
    if (sameAnswer(result.baseline, result.candidate)) continue;
    const rule = oursIs === undefined ? undefined : oursIs === 'baseline'
      ? intendedDifference(result.question, result.candidate, result.baseline, domain)
      : intendedDifference(result.question, result.baseline, result.candidate, domain);
    if (rule) intended.push({ ...result, rule });
    else differences.push(result);
  }
  return { baseline, candidate, ...(kinds ? { kinds } : {}), asked: results.length, differences, intended };
}

/**
 * One row a difference; long answers are kept whole (a person needs to see them). The
 * intended differences follow, one line a rule with an example.
 */
export function renderTable(report: Report): string {
  const apart = report.intended.length === 0 ? '' : `, apart from ${report.intended.length} intended difference${report.intended.length === 1 ? '' : 's'}`;
  const summary = report.differences.length === 0
    ? `All ${report.asked} questions were answered the same${apart}.`
    : `${report.differences.length} of ${report.asked} questions were answered differently${apart}.`;
  const intended = intendedSection(report);
  if (report.differences.length === 0) return `${intended}${summary}\n`;
  return `${differenceTable(report)}\n${intended}${summary}\n`;
}

function differenceTable(report: Report): string {
  const rows = report.differences.map((d) => {
    // When the answers read the same, the difference is in the authority section: show it.
    const authority = summarise(d.baseline) === summarise(d.candidate);
    return [d.question.name, d.question.type, summarise(d.baseline, authority), summarise(d.candidate, authority)];
  });
  const header = ['QUESTION', 'TYPE', `BASELINE ${report.baseline}`, `CANDIDATE ${report.candidate}`];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ');
  return `${[header, ...rows].map(line).join('\n')}\n`;
}

/** `Intended differences (...)` and a line per rule: its count, what it is, an example. */
function intendedSection(report: Report): string {
  if (report.intended.length === 0) return '';
  const byRule = new Map<string, IntendedAsked[]>();
  for (const d of report.intended) byRule.set(d.rule.id, [...(byRule.get(d.rule.id) ?? []), d]);
  const lines = [...byRule.values()].map((all) => {
    const [first] = all as [IntendedAsked, ...IntendedAsked[]];
    const example = `${first.question.name} ${first.question.type}: ${summarise(first.baseline)} against ${summarise(first.candidate)}`;
    return `  ${first.rule.id} (${all.length}): ${first.rule.summary}\n      e.g. ${example}`;
  });
  const ours = report.kinds?.baseline === 'clusterdns' ? 'baseline' : 'candidate';
  return `Intended differences of clusterdns' resolver (the ${ours}) from CoreDNS (docs/coredns-differences.md), not counted:\n${lines.join('\n')}\n\n`;
}

export function renderJson(report: Report): string {
  return `${JSON.stringify({
    baseline: report.baseline,
    candidate: report.candidate,
    ...(report.kinds ? { kinds: report.kinds } : {}),
    asked: report.asked,
    different: report.differences.length,
    differences: report.differences.map((d) => ({ name: d.question.name, type: d.question.type, baseline: d.baseline, candidate: d.candidate })),
    intended: report.intended.map((d) => ({ rule: d.rule.id, name: d.question.name, type: d.question.type, baseline: d.baseline, candidate: d.candidate })),
  }, null, 2)}\n`;
}

/** `[########------------] 120/800` for a terminal; pure. */
export function progressBar(done: number, total: number, width = 30): string {
  const filled = total === 0 ? width : Math.round((done / total) * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${done}/${total}`;
}
