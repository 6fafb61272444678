/** Reading a resolver's API access without the start-up helper: what it takes, and what it leaves to the helper. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { accessInProcess } from '../../../src/resolver/kube-access.ts';
import type { AccessSources } from '../../../src/resolver/kube-access.ts';

const b64 = (text: string): string => Buffer.from(text).toString('base64');

function kubeconfig(cluster: object, user: object): string {
  return JSON.stringify({
    apiVersion: 'v1', kind: 'Config', 'current-context': 'here',
    contexts: [{ name: 'other', context: { cluster: 'x', user: 'x' } }, { name: 'here', context: { cluster: 'c', user: 'u' } }],
    clusters: [{ name: 'c', cluster }], users: [{ name: 'u', user }],
  });
}

function sources(files: Record<string, string>, env: NodeJS.ProcessEnv = {}): AccessSources {
  return {
    env,
    home: '/home/me',
    read: (file) => {
      const content = files[file];
      if (content === undefined) throw new Error(`ENOENT: ${file}`);
      return content;
    },
  };
}

describe('accessInProcess', () => {
  test('a pod: the service account, as loadFromCluster', () => {
    const access = accessInProcess(undefined, sources({ '/var/run/secrets/kubernetes.io/serviceaccount/ca.crt': 'CA' }, { KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' }));
    assert.deepEqual(access, {
      server: 'https://[fd00::1]:443', ca: 'CA', cert: undefined, key: undefined, insecure: false,
      token: undefined, tokenFile: '/var/run/secrets/kubernetes.io/serviceaccount/token', simple: true,
    });
  });

  test('a pod without its CA file is left to the helper', () => {
    assert.equal(accessInProcess(undefined, sources({}, { KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443' })), undefined);
  });

  test('a JSON kubeconfig: the current context, embedded data and files relative to it', () => {
    const files = {
      '/etc/k/config.json': kubeconfig({ server: 'https://127.0.0.1:6443', 'certificate-authority': 'ca.pem' }, { 'client-certificate-data': b64('CERT'), 'client-key': '/abs/key.pem' }),
      '/etc/k/ca.pem': 'CA', '/abs/key.pem': 'KEY',
    };
    assert.deepEqual(accessInProcess('/etc/k/config.json', sources(files)), {
      server: 'https://127.0.0.1:6443', ca: 'CA', cert: 'CERT', key: 'KEY', insecure: false, token: undefined, tokenFile: undefined, simple: true,
    });
  });

  test('$KUBECONFIG and then ~/.kube/config, when no file is named', () => {
    const config = kubeconfig({ server: 'https://a', 'insecure-skip-tls-verify': true }, { token: 't' });
    assert.equal(accessInProcess(undefined, sources({ '/k.json': config }, { KUBECONFIG: '/k.json' }))?.token, 't');
    assert.equal(accessInProcess(undefined, sources({ '/home/me/.kube/config': config }))?.insecure, true);
    // A KUBECONFIG set wins over being in a pod, as loadKubeConfig has it.
    assert.equal(accessInProcess(undefined, sources({ '/k.json': config }, { KUBECONFIG: '/k.json', KUBERNETES_SERVICE_HOST: '10.0.0.1' }))?.server, 'https://a');
  });

  const helperCases: Array<[string, string | undefined, Record<string, string>, NodeJS.ProcessEnv]> = [
    ['a YAML kubeconfig', '/k', { '/k': 'apiVersion: v1\nkind: Config\n' }, {}],
    ['several files in $KUBECONFIG', undefined, {}, { KUBECONFIG: '/a:/b' }],
    ['an exec plugin', '/k', { '/k': kubeconfig({ server: 'https://a' }, { exec: { command: 'x' } }) }, {}],
    ['an auth provider', '/k', { '/k': kubeconfig({ server: 'https://a' }, { 'auth-provider': { name: 'oidc' } }) }, {}],
    ['basic auth', '/k', { '/k': kubeconfig({ server: 'https://a' }, { username: 'u', password: 'p' }) }, {}],
    ['impersonation', '/k', { '/k': kubeconfig({ server: 'https://a' }, { as: 'someone' }) }, {}],
    ['a proxy', '/k', { '/k': kubeconfig({ server: 'https://a', 'proxy-url': 'http://p' }, {}) }, {}],
    ['no server', '/k', { '/k': kubeconfig({}, {}) }, {}],
    ['no current context', '/k', { '/k': JSON.stringify({ clusters: [] }) }, {}],
    ['broken JSON', '/k', { '/k': '{"clusters": [' }, {}],
    ['a missing file', '/k', {}, {}],
    ['a missing certificate file', '/k', { '/k': kubeconfig({ server: 'https://a', 'certificate-authority': 'nope.pem' }, {}) }, {}],
  ];
  for (const [name, file, files, env] of helperCases) {
    test(`left to the helper: ${name}`, () => {
      assert.equal(accessInProcess(file, sources(files, env)), undefined);
    });
  }
});
