/**
 * JSON Patch (RFC 6902) by diff: the patch is computed by comparing the original object with
 * the mutated copy, so the mutation itself stays a plain function on objects.
 *
 * Objects are compared member by member; an array or scalar that differs is set whole
 * (`add`, which on an object member replaces an existing value). Index-based array ops are
 * never emitted, so a patch without `remove` ops gives the same document when applied twice.
 */

export type PatchOperation =
  | { readonly op: 'add' | 'replace'; readonly path: string; readonly value: unknown }
  | { readonly op: 'remove'; readonly path: string };

/** The operations that turn `original` into `mutated`. */
export function diff(original: unknown, mutated: unknown, path = ''): PatchOperation[] {
  if (isObject(original) && isObject(mutated)) {
    const ops: PatchOperation[] = [];
    for (const key of Object.keys(original)) {
      if (!Object.hasOwn(mutated, key)) ops.push({ op: 'remove', path: `${path}/${escape(key)}` });
    }
    for (const [key, value] of Object.entries(mutated)) {
      const at = `${path}/${escape(key)}`;
      if (!Object.hasOwn(original, key)) ops.push({ op: 'add', path: at, value });
      else ops.push(...diff(original[key], value, at));
    }
    return ops;
  }
  if (deepEqual(original, mutated)) return [];
  return [{ op: path === '' ? 'replace' : 'add', path, value: mutated }];
}

/** Applies `ops` to a copy of `document` (the subset of RFC 6902 that `diff` emits). */
export function applyPatch(document: unknown, ops: readonly PatchOperation[]): unknown {
  let root = structuredClone(document);
  for (const op of ops) {
    if (op.path === '') {
      if (op.op === 'remove') throw new Error('cannot remove the whole document');
      root = structuredClone(op.value);
      continue;
    }
    const keys = op.path.split('/').slice(1).map(unescape);
    const last = keys.pop() ?? '';
    let parent: unknown = root;
    for (const key of keys) parent = isObject(parent) ? parent[key] : undefined;
    if (!isObject(parent)) throw new Error(`${op.op} ${op.path}: the parent is not an object`);
    if (op.op === 'remove') {
      if (!Object.hasOwn(parent, last)) throw new Error(`remove ${op.path}: no such member`);
      Reflect.deleteProperty(parent, last);
    } else {
      if (op.op === 'replace' && !Object.hasOwn(parent, last)) throw new Error(`replace ${op.path}: no such member`);
      parent[last] = structuredClone(op.value);
    }
  }
  return root;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((item, i) => deepEqual(item, b[i]));
  if (isObject(a) && isObject(b)) {
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((key) => Object.hasOwn(b, key) && deepEqual(a[key], b[key]));
  }
  return false;
}

/** RFC 6901: `~` is `~0` and `/` is `~1` in a pointer token. */
function escape(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

function unescape(token: string): string {
  return token.replace(/~1/g, '/').replace(/~0/g, '~');
}
