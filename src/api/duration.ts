/**
 * Durations as Kubernetes writes them (Go's time.ParseDuration, as metav1.Duration fields and
 * kube-controller-manager's flags take them), restricted to the units that make sense here:
 * `500ms`, `2s`, `5m`, `1h30m`, and `0`.
 */

/** The whole text must match; the CRD's pattern for duration fields is the same. */
export const DURATION_PATTERN = /^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$/;
const DURATION_PART = /([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)/g;
const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Milliseconds, or undefined when `text` is not a duration. */
export function parseDuration(text: string): number | undefined {
  if (text === '0') return 0;
  if (!DURATION_PATTERN.test(text)) return undefined;
  let ms = 0;
  for (const [, amount = '0', unit = 's'] of text.matchAll(DURATION_PART)) ms += Number(amount) * (UNIT_MS[unit] ?? 0);
  return Math.round(ms);
}
