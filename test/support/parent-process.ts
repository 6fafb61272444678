/**
 * A parent process for watchdog tests: runs `script` (TypeScript source) with this Node.js
 * and resolves with the JSON object it prints on its first line, so that the test can
 * SIGKILL it and check what its watchdog cleaned up.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export async function startParent(script: string): Promise<{ parent: ChildProcess; facts: unknown }> {
  const scratch = mkdtempSync(join(tmpdir(), 'clusterdns-parent-'));
  const file = join(scratch, 'parent.ts');
  writeFileSync(file, script);
  const parent = spawn(process.execPath, [file], { stdio: ['ignore', 'pipe', 'inherit'] });
  // Node reads the script once at start: the file is not needed after the first line.
  const [line] = (await once(createInterface({ input: parent.stdout }), 'line')) as [string];
  rmSync(scratch, { recursive: true, force: true });
  return { parent, facts: JSON.parse(line) as unknown };
}
