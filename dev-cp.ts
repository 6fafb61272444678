import { ControlPlane } from './src/local/control-plane.ts';
const plane = await ControlPlane.start({ log: (l) => { process.stderr.write(l + '\n'); } });
process.stdout.write(`KUBECONFIG=${plane.kubeconfigPath}\n`);
const keep = setInterval(() => undefined, 1 << 30);
process.once('SIGTERM', () => { clearInterval(keep); void plane.stop(); });
