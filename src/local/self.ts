/**
 * How local mode runs `clusterdns` subcommands as child processes: the same Node.js binary and
 * the same entry point as this process, from source (`.ts`) or compiled (`.js`) alike.
 */
import { fileURLToPath } from 'node:url';

export function clusterdnsCommand(subcommand: string, args: readonly string[]): { command: string; args: string[] } {
  const main = fileURLToPath(new URL(import.meta.url.endsWith('.ts') ? '../cli/main.ts' : '../cli/main.js', import.meta.url));
  return { command: process.execPath, args: [main, subcommand, ...args] };
}
