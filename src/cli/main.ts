#!/usr/bin/env node
/**
 * `clusterdns <command> [flags]`. Each command lives in its own module, loaded only when
 * asked for, and returns the process exit code.
 */
import { commands } from './commands.ts';

const usage = `usage: clusterdns <command> [flags]

commands:
${Object.entries(commands).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`).join('\n')}

Run "clusterdns <command> --help" for a command's flags.
`;

const [name, ...args] = process.argv.slice(2);
const command = name ? commands[name] : undefined;
if (name === '--help' || name === '-h') {
  process.stdout.write(usage);
} else if (!command) {
  process.stderr.write(name ? `unknown command "${name}"\n\n${usage}` : usage);
  process.exitCode = 2;
} else {
  const module = await command.load();
  process.exitCode = await module.run(args);
}
