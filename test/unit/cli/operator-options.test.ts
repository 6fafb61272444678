/** The flags of `clusterdns operator`: defaults, Go-style booleans, and clear errors. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseDuration } from '../../../src/api/duration.ts';
import { normalizeBooleanFlags, parseOperatorFlags } from '../../../src/cli/operator-options.ts';
import type { OperatorOptions } from '../../../src/cli/operator-options.ts';

function options(args: string[]): OperatorOptions {
  const parsed = parseOperatorFlags(args);
  assert.equal(parsed.kind, 'ok', parsed.kind === 'error' ? parsed.message : '');
  return (parsed as { options: OperatorOptions }).options;
}

function error(args: string[]): string {
  const parsed = parseOperatorFlags(args);
  assert.equal(parsed.kind, 'error');
  return (parsed as { message: string }).message;
}

describe('the operator flags', () => {
  test('default to controller-runtime\'s addresses, clusterdns-system, the webhook on and no leader election', () => {
    assert.deepEqual(options([]), {
      namespace: 'clusterdns-system',
      resolverImageRepository: 'ghcr.io/clusterdns/clusterdns',
      corednsImageRepository: 'registry.k8s.io/coredns/coredns',
      leaderElect: false,
      metricsAddr: { host: undefined, port: 8080 },
      healthAddr: { host: undefined, port: 8081 },
      logLevel: 'info',
      kubeconfig: undefined,
      selector: '',
      webhook: true,
      webhookHost: undefined,
      webhookPort: 9443,
      webhookUrl: undefined,
      autoscalingDebounceMs: 2000,
      autoscalingDownscaleStabilizationMs: 300_000,
      analysisTargets: undefined,
    });
  });

  test('take every flag', () => {
    const parsed = options([
      '--namespace', 'dns', '--resolver-image-repository', 'registry.example:5000/dns/resolver', '--coredns-image-repository', 'mirror.example/coredns', '--leader-elect',
      '--metrics-addr', '127.0.0.1:9090', '--health-addr', '[::1]:9091', '--log-level', 'debug', '--kubeconfig', '/tmp/kc',
      '--selector', 'team=dns,tier in (a, b),!legacy', '--webhook=false', '--webhook-port', '10443', '--webhook-host', '127.0.0.1', '--webhook-url', 'https://127.0.0.1:10443/mutate-v1-pod',
      '--autoscaling-debounce', '500ms', '--autoscaling-downscale-stabilization=1m30s', '--analysis-targets', '/tmp/targets.json',
    ]);
    assert.deepEqual(parsed, {
      namespace: 'dns', resolverImageRepository: 'registry.example:5000/dns/resolver', corednsImageRepository: 'mirror.example/coredns', leaderElect: true,
      metricsAddr: { host: '127.0.0.1', port: 9090 }, healthAddr: { host: '::1', port: 9091 }, logLevel: 'debug', kubeconfig: '/tmp/kc',
      selector: 'team=dns,tier in (a, b),!legacy', webhook: false, webhookHost: '127.0.0.1', webhookPort: 10443, webhookUrl: 'https://127.0.0.1:10443/mutate-v1-pod',
      autoscalingDebounceMs: 500, autoscalingDownscaleStabilizationMs: 90_000, analysisTargets: '/tmp/targets.json',
    });
  });

  test('accept Go\'s spellings of booleans', () => {
    assert.deepEqual(normalizeBooleanFlags(['--leader-elect=true', '--webhook=false', '--namespace=x']), ['--leader-elect', '--no-webhook', '--namespace=x']);
    assert.equal(options(['--leader-elect=false']).leaderElect, false);
    assert.equal(options(['--no-webhook']).webhook, false);
  });

  test('turn an endpoint off with 0', () => {
    assert.equal(options(['--metrics-addr', '0']).metricsAddr, undefined);
  });

  const refusals: Array<[string, string[], RegExp]> = [
    ['a namespace that is no DNS label', ['--namespace', 'Kube_System'], /--namespace must be a namespace name/],
    ['an image repository with a tag', ['--resolver-image-repository', 'ghcr.io/x/y:1.0'], /without tag or digest/],
    ['a CoreDNS image repository with a digest', ['--coredns-image-repository', 'registry.k8s.io/coredns/coredns@sha256:abc'], /--coredns-image-repository must be a repository without tag or digest, such as registry\.k8s\.io\/coredns\/coredns/],
    ['an address without a port', ['--metrics-addr', 'localhost'], /--metrics-addr: "localhost" is not host:port/],
    ['an unknown log level', ['--log-level', 'trace'], /--log-level must be one of debug, info, warn, error/],
    ['a selector that is not one', ['--selector', 'a=b=c'], /--selector is not a label selector/],
    ['a webhook port out of range', ['--webhook-port', '70000'], /webhook-port|70000|65535/],
    ['a plain-HTTP webhook URL', ['--webhook-url', 'http://127.0.0.1/x'], /--webhook-url must be an https:\/\/ URL/],
    ['an unknown flag', ['--leader-election'], /Unknown option '--leader-election'/],
    ['a boolean with a value it cannot take', ['--webhook=maybe'], /does not take an argument/],
    ['a duration without a unit', ['--autoscaling-debounce', '5'], /--autoscaling-debounce must be a duration such as 500ms, 2s or 5m/],
    ['a stabilization window over an hour', ['--autoscaling-downscale-stabilization', '2h'], /--autoscaling-downscale-stabilization must be a duration .* at most 60m/],
  ];
  for (const [title, args, message] of refusals) test(`refuse ${title} with a clear error`, () => { assert.match(error(args), message); });

  test('read durations as Go writes them', () => {
    const rows: Array<[string, number | undefined]> = [
      ['0', 0], ['500ms', 500], ['2s', 2000], ['1.5s', 1500], ['5m', 300_000], ['1h30m', 5_400_000], ['1m30s', 90_000],
      ['', undefined], ['5', undefined], ['-1s', undefined], ['2 s', undefined], ['1d', undefined], ['s', undefined],
    ];
    for (const [text, ms] of rows) assert.equal(parseDuration(text), ms, text);
  });

  test('--help asks for the usage', () => { assert.equal(parseOperatorFlags(['--help']).kind, 'help'); });
});
