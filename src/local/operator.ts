/**
 * Local mode's operator: `clusterdns operator` as a child process with the admin kubeconfig,
 * its endpoints and its webhook on loopback (the apiserver calls the webhook by URL, there
 * being no Service network on this machine).
 */
import { DEFAULT_NAMESPACE, WEBHOOK_CONFIGURATION, WEBHOOK_PATH } from '../api/names.ts';
import type { ControlPlane } from './control-plane.ts';
import { freePort, httpRequest, waitFor } from './net.ts';
import type { ManagedProcess } from './process.ts';
import { clusterdnsCommand } from './self.ts';

const LOOPBACK = '127.0.0.1';
const READY_TIMEOUT_MS = 60_000;

export interface LocalOperator {
  readonly process: ManagedProcess;
  readonly webhookUrl: string;
  readonly metricsUrl: string;
}

/**
 * Starts the operator and waits until it is ready and its webhook is registered and serving,
 * so that pods created afterwards are injected.
 */
export async function startLocalOperator(plane: ControlPlane, analysisTargets?: string): Promise<LocalOperator> {
  const [metricsPort, healthPort, webhookPort] = [await freePort(), await freePort(), await freePort()];
  const webhookUrl = `https://${LOOPBACK}:${webhookPort}${WEBHOOK_PATH}`;
  const { command, args } = clusterdnsCommand('operator', [
    '--kubeconfig', plane.kubeconfigPath,
    '--namespace', DEFAULT_NAMESPACE,
    '--metrics-addr', `${LOOPBACK}:${metricsPort}`,
    '--health-addr', `${LOOPBACK}:${healthPort}`,
    '--webhook-host', LOOPBACK,
    '--webhook-port', String(webhookPort),
    '--webhook-url', webhookUrl,
    // The loopback resolvers stand in for the pods: spec.analysis reads them there.
    ...(analysisTargets ? ['--analysis-targets', analysisTargets] : []),
  ]);
  const child = plane.startCompanion('operator', command, args);
  const exited = (): string | undefined => (child.hasExited ? `${child.exitDescription} (log: ${plane.logFile('operator')})` : undefined);
  await waitFor('operator', async () => (await httpRequest({ url: `http://${LOOPBACK}:${healthPort}/readyz` })).status === 200, READY_TIMEOUT_MS, exited);
  await waitFor('the injection webhook', async () => {
    const registered = await plane.api('GET', `/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/${WEBHOOK_CONFIGURATION}`);
    if (registered.status !== 200) return false;
    // Any HTTP answer means the TLS server is up with its certificate; the apiserver checks the CA.
    return (await httpRequest({ url: webhookUrl, method: 'POST', json: {}, tls: { insecure: true } })).status > 0;
  }, READY_TIMEOUT_MS, exited);
  return { process: child, webhookUrl, metricsUrl: `http://${LOOPBACK}:${metricsPort}/metrics` };
}
