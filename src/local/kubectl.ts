/**
 * The pinned kubectl built beside the control plane, run against it. Local mode installs the
 * product with it exactly as a user would (`kubectl apply -k config/...`).
 */
import { execFile } from 'node:child_process';

export class Kubectl {
  readonly binary: string;
  readonly kubeconfig: string;

  constructor(binary: string, kubeconfig: string) {
    this.binary = binary;
    this.kubeconfig = kubeconfig;
  }

  /** Runs kubectl; resolves with stdout, rejects with its stderr in the message. */
  run(args: readonly string[], stdin?: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const child = execFile(this.binary, ['--kubeconfig', this.kubeconfig, ...args], { maxBuffer: 16 * 2 ** 20 }, (error, stdout, stderr) => {
        if (error) reject(new Error(`kubectl ${args.join(' ')}: ${stderr.trim() || error.message}`));
        else resolve(stdout);
      });
      child.stdin?.end(stdin ?? '');
    });
  }

  /** Server-side apply of a kustomize directory, a file, or (with `objects`) a List from stdin. */
  apply(source: { readonly kustomize: string } | { readonly objects: readonly object[] }): Promise<string> {
    const common = ['apply', '--server-side', '--field-manager=clusterdns-local'];
    return 'kustomize' in source
      ? this.run([...common, '-k', source.kustomize])
      : this.run([...common, '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: source.objects }));
  }
}
