/**
 * What a serving thread loads. Each thread is an isolate of its own, so every module it
 * imports costs its heap and code once per thread: zod alone (through a schema module) made a
 * thread 12 MiB heavier. The thread's modules, followed from thread-main.ts through every
 * import that is not type-only, may use only Node's built-in modules.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../../../..');
const ENTRY = join(ROOT, 'src/resolver/serve/thread-main.ts');
// `import x from '…'`, `import { … } from '…'`, `export { … } from '…'` and `import '…'`, not `import type`.
const IMPORT = /^(?:import|export)\s+(?!type\b)(?:[^'"]*?\sfrom\s+)?['"]([^'"]+)['"]/gm;

/** Every module the entry loads: the project's files, and the packages they import, by the file that imports them. */
function moduleGraph(entry: string): { files: Set<string>; packages: Map<string, string> } {
  const files = new Set<string>();
  const packages = new Map<string, string>();
  const visit = (file: string): void => {
    if (files.has(file)) return;
    files.add(file);
    for (const [, target = ''] of readFileSync(file, 'utf8').matchAll(IMPORT)) {
      if (target.startsWith('.')) visit(join(dirname(file), target));
      else packages.set(target, relative(ROOT, file));
    }
  };
  visit(entry);
  return { files, packages };
}

test('a serving thread imports only built-in modules: no schema library, no client, no logger', () => {
  const { files, packages } = moduleGraph(ENTRY);
  const outside = [...packages].filter(([name]) => !name.startsWith('node:')).map(([name, by]) => `${name} (from ${by})`);
  assert.deepEqual(outside, []);
  assert.ok(files.has(join(ROOT, 'src/resolver/cluster/cluster-index.ts')), 'the graph is followed');
  assert.ok(!files.has(join(ROOT, 'src/kube/client.ts')), 'the apiserver client stays on the main thread');
});
