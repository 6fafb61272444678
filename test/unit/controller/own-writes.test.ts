/** OwnWrites: a cache that has not seen our own writes yet is read as if it had. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { OwnWrites } from '../../../src/controller/own-writes.ts';

interface Object { metadata: { name: string; resourceVersion: string }; status: string }
const at = (resourceVersion: string, status: string): Object => ({ metadata: { name: 'dns', resourceVersion }, status });

describe('OwnWrites', () => {
  test('a cache still at the version before our write gives the object our write left', () => {
    const own = new OwnWrites<Object>();
    own.wrote(at('1', 'old'), at('2', 'new'));
    assert.deepEqual(own.freshest(at('1', 'old')), at('2', 'new'));
  });

  test('two writes in a row: the cache at either earlier version gives the latest', () => {
    const own = new OwnWrites<Object>();
    own.wrote(at('1', 'a'), at('2', 'b'));
    own.wrote(at('2', 'b'), at('3', 'c'));
    assert.deepEqual(own.freshest(at('1', 'a')), at('3', 'c'));
    assert.deepEqual(own.freshest(at('2', 'b')), at('3', 'c'));
  });

  test('once the cache has caught up or moved past, it is the truth again', () => {
    const own = new OwnWrites<Object>();
    own.wrote(at('1', 'a'), at('2', 'b'));
    assert.deepEqual(own.freshest(at('5', 'edited')), at('5', 'edited'));
    assert.deepEqual(own.freshest(at('1', 'a')), at('1', 'a'), 'the memory is gone');
  });

  test('an object never written is returned as it is', () => {
    assert.deepEqual(new OwnWrites<Object>().freshest(at('1', 'a')), at('1', 'a'));
  });
});
