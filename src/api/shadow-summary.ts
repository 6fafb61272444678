/**
 * What a resolver with `shadow` configured serves as JSON at `/shadow` on its health port:
 * its counts since it started comparing, and its latest mismatches. The operator collects
 * it from every ready pod of an instance (src/controller/analysis-collector.ts) and parses it
 * with this schema, as input from the network: bounded, and refused whole when malformed.
 */
import { z } from 'zod';
import { LATEST_MISMATCHES, MAX_ANSWER_TEXT, MISMATCH_KINDS } from './shadow-bounds.ts';

export type { MismatchKind, ShadowErrorReason } from './shadow-bounds.ts';

const count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const text = (max: number) => z.string().max(max);

export const mismatchKindSchema = z.enum(MISMATCH_KINDS);

export const shadowMismatchSchema = z.object({
  /** RFC 3339, milliseconds. */
  time: text(40),
  /** `NAME TYPE`, the name as asked with its trailing dot. */
  question: text(300),
  kind: mismatchKindSchema,
  /** The intended difference (docs/coredns-differences.md), for kind intended. */
  rule: text(64).optional(),
  /** This resolver's answer and the baseline's, summarised (`NOERROR 10.0.0.1, 10.0.0.2`, `NXDOMAIN`). */
  answer: text(MAX_ANSWER_TEXT + 1),
  baseline: text(MAX_ANSWER_TEXT + 1),
});
export type ShadowMismatch = z.infer<typeof shadowMismatchSchema>;

export const shadowSummarySchema = z.object({
  /** When this process began comparing: its counts start there. */
  startedAt: text(40),
  baseline: text(64),
  sample: z.number(),
  /** Sampled queries asked of the baseline. */
  queries: count,
  /** Of those, answered by the baseline and compared. */
  compared: count,
  /** Sampled queries not asked, because shadow.maxInFlight were waiting already. */
  skipped: count,
  errors: z.object({ timeout: count, unreachable: count, malformed: count }),
  mismatches: z.object({ rcode: count, answer: count, intended: count }),
  latest: z.array(shadowMismatchSchema).max(LATEST_MISMATCHES),
});
export type ShadowSummary = z.infer<typeof shadowSummarySchema>;
