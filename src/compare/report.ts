/**
 * The result of a comparison and its two renderings: a table for people, JSON for scripts.
 * Pure: the same results always render to the same text.
 */
import type { NormalisedAnswer } from '../dns/answers.ts';
import { sameAnswer, summarise } from '../dns/answers.ts';
import type { Question } from './questions.ts';

export interface Asked {
  readonly question: Question;
  readonly baseline: NormalisedAnswer;
  readonly candidate: NormalisedAnswer;
}

export interface Report {
  readonly baseline: string;
  readonly candidate: string;
  readonly asked: number;
  /** Only the questions answered differently, in the order asked. */
  readonly differences: readonly Asked[];
}

export function buildReport(baseline: string, candidate: string, results: readonly Asked[]): Report {
  return { baseline, candidate, asked: results.length, differences: results.filter((r) => !sameAnswer(r.baseline, r.candidate)) };
}

/** One row a difference; long answers are kept whole (a person needs to see them). */
export function renderTable(report: Report): string {
  const summary = report.differences.length === 0
    ? `All ${report.asked} questions were answered the same.`
    : `${report.differences.length} of ${report.asked} questions were answered differently.`;
  if (report.differences.length === 0) return `${summary}\n`;
  const rows = report.differences.map((d) => {
    // When the answers read the same, the difference is in the authority section: show it.
    const authority = summarise(d.baseline) === summarise(d.candidate);
    return [d.question.name, d.question.type, summarise(d.baseline, authority), summarise(d.candidate, authority)];
  });
  const header = ['QUESTION', 'TYPE', `BASELINE ${report.baseline}`, `CANDIDATE ${report.candidate}`];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ');
  return `${[header, ...rows].map(line).join('\n')}\n\n${summary}\n`;
}

export function renderJson(report: Report): string {
  return `${JSON.stringify({
    baseline: report.baseline,
    candidate: report.candidate,
    asked: report.asked,
    different: report.differences.length,
    differences: report.differences.map((d) => ({ name: d.question.name, type: d.question.type, baseline: d.baseline, candidate: d.candidate })),
  }, null, 2)}\n`;
}

/** `[########------------] 120/800` for a terminal; pure. */
export function progressBar(done: number, total: number, width = 30): string {
  const filled = total === 0 ? width : Math.round((done / total) * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${done}/${total}`;
}
