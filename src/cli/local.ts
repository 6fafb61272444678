/**
 * `clusterdns local`: a real control plane on this machine, up until Ctrl-C.
 */
import { parseArgs } from 'node:util';
import { ControlPlane } from '../local/control-plane.ts';

export async function run(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    process.stdout.write('usage: clusterdns local\n\nStarts a local control plane and stays up until Ctrl-C.\n');
    return 0;
  }
  const say = (line: string): void => { process.stderr.write(`clusterdns local: ${line}\n`); };
  const plane = await ControlPlane.start({ log: say });
  process.stdout.write(`\nexport KUBECONFIG=${plane.kubeconfigPath}\nkubectl: ${plane.binaries.kubectl}\n\nPress Ctrl-C to stop.\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await plane.stop();
  return 0;
}
