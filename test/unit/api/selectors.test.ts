import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isEmptySelector, matchesSelector } from '../../../src/api/selectors.ts';
import type { LabelSelector } from '../../../src/api/selectors.ts';

describe('label selectors', () => {
  const labels = { app: 'web', tier: 'front' };
  const rows: Array<[string, LabelSelector, boolean]> = [
    ['matchLabels that all hold match', { matchLabels: { app: 'web', tier: 'front' } }, true],
    ['a matchLabels value that differs does not match', { matchLabels: { app: 'db' } }, false],
    ['In matches a listed value', { matchExpressions: [{ key: 'tier', operator: 'In', values: ['front', 'back'] }] }, true],
    ['In does not match a missing key', { matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] }, false],
    ['NotIn matches a missing key', { matchExpressions: [{ key: 'zone', operator: 'NotIn', values: ['a'] }] }, true],
    ['NotIn does not match a listed value', { matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['web'] }] }, false],
    ['Exists matches a present key', { matchExpressions: [{ key: 'app', operator: 'Exists' }] }, true],
    ['DoesNotExist does not match a present key', { matchExpressions: [{ key: 'app', operator: 'DoesNotExist' }] }, false],
    ['an empty selector matches everything (Kubernetes semantics)', {}, true],
  ];
  for (const [title, selector, expected] of rows) {
    test(title, () => { assert.equal(matchesSelector(selector, labels), expected); });
  }

  test('isEmptySelector tells an empty selector from one with terms', () => {
    assert.equal(isEmptySelector(undefined), true);
    assert.equal(isEmptySelector({ matchLabels: {}, matchExpressions: [] }), true);
    assert.equal(isEmptySelector({ matchLabels: { a: 'b' } }), false);
  });
});
