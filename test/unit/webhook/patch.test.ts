/** JSON Patch by diff: applying diff(a, b) to a gives b. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { applyPatch, diff } from '../../../src/webhook/patch.ts';

describe('diff', () => {
  const rows: Array<{ title: string; a: unknown; b: unknown; ops: string[] }> = [
    { title: 'equal documents need no ops', a: { x: [1, { y: 2 }] }, b: { x: [1, { y: 2 }] }, ops: [] },
    { title: 'a new member is added', a: { x: 1 }, b: { x: 1, y: 2 }, ops: ['add /y'] },
    { title: 'a changed scalar is set', a: { x: 1 }, b: { x: 2 }, ops: ['add /x'] },
    { title: 'a missing member is removed', a: { x: 1, y: 2 }, b: { x: 1 }, ops: ['remove /y'] },
    { title: 'nested objects are compared member by member', a: { m: { a: 1, b: 1 } }, b: { m: { a: 1, b: 2 } }, ops: ['add /m/b'] },
    { title: 'an array that differs is set whole', a: { l: [1, 2] }, b: { l: [1, 2, 3] }, ops: ['add /l'] },
    { title: 'keys with / and ~ are escaped', a: { m: {} }, b: { m: { 'a/b~c': 1 } }, ops: ['add /m/a~1b~0c'] },
    { title: 'an object replacing a scalar is set whole', a: { x: 1 }, b: { x: { y: 1 } }, ops: ['add /x'] },
    { title: 'a different root is replaced', a: [1], b: [2], ops: ['replace '] },
  ];
  for (const row of rows) {
    test(row.title, () => {
      const ops = diff(row.a, row.b);
      assert.deepEqual(ops.map((o) => `${o.op} ${o.path}`), row.ops);
      assert.deepEqual(applyPatch(row.a, ops), row.b);
    });
  }
});

describe('applyPatch', () => {
  test('does not change its input', () => {
    const a = { x: { y: 1 } };
    applyPatch(a, [{ op: 'add', path: '/x/y', value: 2 }]);
    assert.deepEqual(a, { x: { y: 1 } });
  });

  test('refuses a path whose parent is missing, and replace or remove of a missing member', () => {
    assert.throws(() => applyPatch({}, [{ op: 'add', path: '/a/b', value: 1 }]), /parent is not an object/);
    assert.throws(() => applyPatch({}, [{ op: 'replace', path: '/a', value: 1 }]), /no such member/);
    assert.throws(() => applyPatch({}, [{ op: 'remove', path: '/a' }]), /no such member/);
  });
});
