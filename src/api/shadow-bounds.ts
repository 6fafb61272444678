/**
 * The bounds and names of a shadow summary (shadow-summary.ts) without its schema: the
 * resolver's serving threads count with them, and a thread that loaded zod for them would pay
 * some 9 MiB of heap and code each.
 */

/** Mismatches a resolver keeps, newest first (per serving thread, and in the merged summary). */
export const LATEST_MISMATCHES = 20;
/** Longest text of one answer in a mismatch (longer ones are cut, with `…`). */
export const MAX_ANSWER_TEXT = 300;

export const SHADOW_ERROR_REASONS = ['timeout', 'unreachable', 'malformed'] as const;
export type ShadowErrorReason = (typeof SHADOW_ERROR_REASONS)[number];
export const MISMATCH_KINDS = ['rcode', 'answer', 'intended'] as const;
export type MismatchKind = (typeof MISMATCH_KINDS)[number];
