/** metav1.LabelSelector: its zod schema and its matching rule. */
import { z } from 'zod';

/** As Kubernetes validates it: In and NotIn need values, Exists and DoesNotExist take none. */
export const labelSelectorRequirementSchema = z.strictObject({
  key: z.string().min(1).max(317),
  operator: z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist']),
  values: z.array(z.string().max(63)).max(64).optional(),
}).refine(
  ({ operator, values = [] }) => (operator === 'In' || operator === 'NotIn' ? values.length > 0 : values.length === 0),
  'values must be non-empty for In and NotIn, and empty for Exists and DoesNotExist',
);

export const labelSelectorSchema = z.strictObject({
  matchLabels: z.record(z.string(), z.string().max(63)).refine((labels) => Object.keys(labels).length <= 64, 'must have at most 64 entries').optional(),
  matchExpressions: z.array(labelSelectorRequirementSchema).max(64).optional(),
});

export type LabelSelector = z.infer<typeof labelSelectorSchema>;

/** True when the selector has no terms at all. */
export function isEmptySelector(selector: LabelSelector | undefined): boolean {
  return !selector || (Object.keys(selector.matchLabels ?? {}).length === 0 && (selector.matchExpressions ?? []).length === 0);
}

/**
 * Kubernetes' meaning of a selector: every term must hold. (An empty selector therefore
 * matches everything; callers that give "empty" another meaning check `isEmptySelector`.)
 */
export function matchesSelector(selector: LabelSelector, labels: Readonly<Record<string, string>>): boolean {
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (labels[key] !== value) return false;
  }
  for (const { key, operator, values = [] } of selector.matchExpressions ?? []) {
    const present = Object.hasOwn(labels, key);
    const value = labels[key];
    switch (operator) {
      case 'In':
        if (!present || !values.includes(value ?? '')) return false;
        break;
      case 'NotIn':
        if (present && values.includes(value ?? '')) return false;
        break;
      case 'Exists':
        if (!present) return false;
        break;
      case 'DoesNotExist':
        if (present) return false;
        break;
    }
  }
  return true;
}
