/**
 * The CRD on a real apiserver agrees with the zod schema: the same examples are accepted and
 * refused by both (server-side dry-run create, with kubectl's strict field validation), the
 * refusals name the field, the defaults are the same, and so are the fields. Also: the CRD
 * is a manual (kubectl explain), prints the columns users expect, keeps clusterIP immutable,
 * and the sample in config/samples is valid.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { z } from 'zod';
import {
  analysisExampleSchema, analysisSchema, analysisStatusSchema, autoscalingSchema, baselineSchema, clusterDNSSpecSchema, injectionSchema, parseClusterDNS, resourcesSchema, serviceReferenceSchema, tolerationSchema, upstreamSchema,
} from '../../src/api/clusterdns.ts';
import { CLUSTERDNS_PATH } from '../../src/api/names.ts';
import { labelSelectorRequirementSchema, labelSelectorSchema } from '../../src/api/selectors.ts';
import { KubeApiError } from '../../src/kube/client.ts';
import { exampleObject, examples } from '../support/clusterdns-examples.ts';
import { controlPlane, kubeClient, kubectl, kubectlOk } from '../support/cluster.ts';
import { REPO_ROOT, installCrd } from '../support/operator.ts';

interface JsonSchema {
  description?: string;
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  additionalProperties?: JsonSchema | boolean;
}

interface InstalledCrd {
  spec: {
    scope: string;
    names: { shortNames?: string[]; plural: string };
    versions: Array<{ subresources?: { status?: object }; additionalPrinterColumns?: Array<{ name: string; priority?: number }>; schema: { openAPIV3Schema: JsonSchema } }>;
  };
}

/** Paths of properties (not list items or map values themselves) without a description. */
function undocumented(schema: JsonSchema, path: string): string[] {
  const children = Object.entries(schema.properties ?? {}).flatMap(([key, child]) => [
    ...(child.description ? [] : [`${path}.${key}`]),
    ...undocumented(child, `${path}.${key}`),
  ]);
  const items = schema.items ? undocumented(schema.items, `${path}[]`) : [];
  const values = typeof schema.additionalProperties === 'object' ? undocumented(schema.additionalProperties, `${path}{}`) : [];
  return [...children, ...items, ...values];
}

const run = randomBytes(3).toString('hex');

describe('the ClusterDNS CRD on a real apiserver', () => {
  const created: string[] = [];
  let crd: InstalledCrd;

  before(async () => {
    await installCrd(controlPlane());
    crd = await kubeClient().request<InstalledCrd>('GET', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/clusterdnses.clusterdns.io');
  });

  after(async () => {
    for (const name of created) await kubectl(['delete', 'clusterdns', name, '--ignore-not-found', '--wait=false']);
  });

  describe('judges every example as the zod schema does', () => {
    for (const [index, example] of examples.entries()) {
      const verdict = example.refusedAt === undefined ? 'accepts' : `refuses, naming ${example.refusedAt},`;
      test(`${verdict} ${example.title}`, async () => {
        const object = exampleObject(example, `crd-example-${run}-${index}`);
        const zod = parseClusterDNS(object);
        let apiserver: { ok: true; spec: unknown } | { ok: false; message: string };
        try {
          const answer = await kubeClient().request<{ spec: unknown }>('POST', CLUSTERDNS_PATH, { body: object, query: { dryRun: 'All', fieldValidation: 'Strict' } });
          apiserver = { ok: true, spec: answer.spec };
        } catch (error) {
          if (!(error instanceof KubeApiError) || (error.status !== 422 && error.status !== 400)) throw error;
          apiserver = { ok: false, message: error.message };
        }
        if (example.refusedAt === undefined) {
          assert.ok(apiserver.ok, apiserver.ok ? '' : `the apiserver refused: ${apiserver.message}`);
          assert.ok(zod.ok, zod.ok ? '' : `zod refused: ${zod.error}`);
          assert.deepEqual(zod.value.spec, apiserver.spec, 'both fill in the same defaults');
        } else {
          assert.ok(!apiserver.ok, 'the apiserver refuses');
          assert.ok(!zod.ok, 'zod refuses');
          assert.ok(apiserver.message.includes(example.refusedAt), `the apiserver's "${apiserver.message}" names ${example.refusedAt}`);
          assert.ok(zod.error.includes(example.refusedAt), `zod's "${zod.error}" names ${example.refusedAt}`);
        }
      });
    }
  });

  describe('has the same fields as the zod schema', () => {
    const spec = (): JsonSchema => crd.spec.versions[0]!.schema.openAPIV3Schema.properties!['spec']!;
    const status = (): JsonSchema => crd.spec.versions[0]!.schema.openAPIV3Schema.properties!['status']!;
    const rows: Array<[string, () => JsonSchema | undefined, z.ZodObject]> = [
      ['spec', spec, clusterDNSSpecSchema],
      ['spec.upstream', () => spec().properties?.['upstream'], upstreamSchema],
      ['spec.autoscaling', () => spec().properties?.['autoscaling'], autoscalingSchema],
      ['spec.injection', () => spec().properties?.['injection'], injectionSchema],
      ['spec.injection.namespaceSelector', () => spec().properties?.['injection']?.properties?.['namespaceSelector'], labelSelectorSchema],
      ['spec.injection.podSelector.matchExpressions[]', () => spec().properties?.['injection']?.properties?.['podSelector']?.properties?.['matchExpressions']?.items, labelSelectorRequirementSchema],
      ['spec.resources', () => spec().properties?.['resources'], resourcesSchema],
      ['spec.baseline', () => spec().properties?.['baseline'], baselineSchema],
      ['spec.baseline.service', () => spec().properties?.['baseline']?.properties?.['service'], serviceReferenceSchema],
      ['spec.tolerations[]', () => spec().properties?.['tolerations']?.items, tolerationSchema],
      ['spec.analysis', () => spec().properties?.['analysis'], analysisSchema],
      ['status.analysis', () => status().properties?.['analysis'], analysisStatusSchema],
      ['status.analysis.examples[]', () => status().properties?.['analysis']?.properties?.['examples']?.items, analysisExampleSchema],
    ];
    for (const [path, node, schema] of rows) {
      test(path, () => { assert.deepEqual(Object.keys(node()?.properties ?? {}).sort(), Object.keys(schema.shape).sort()); });
    }
  });

  test('describes every field, so that kubectl explain is a manual', async () => {
    const root = crd.spec.versions[0]!.schema.openAPIV3Schema;
    assert.deepEqual(undocumented(root.properties!['spec']!, 'spec'), []);
    assert.deepEqual(undocumented(root.properties!['status']!, 'status'), []);
    const explained = await kubectlOk(['explain', 'clusterdns.spec.clusterIP']);
    assert.match(explained, /Immutable once set/);
    const fields = await kubectlOk(['explain', 'clusterdns.spec']);
    for (const field of ['engine', 'version', 'clusterIP', 'replicas', 'autoscaling', 'upstream', 'stubDomains', 'injection', 'baseline', 'routing', 'drain', 'analysis', 'priorityClassName']) {
      assert.match(fields, new RegExp(`\\n  ${field}\\t`));
    }
  });

  test('is cluster-scoped with the short name cdns, a status subresource and the expected columns', async () => {
    assert.equal(crd.spec.scope, 'Cluster');
    assert.deepEqual(crd.spec.names.shortNames, ['cdns']);
    assert.ok(crd.spec.versions[0]!.subresources?.status);
    const name = `columns-${run}`;
    created.push(name);
    await kubectlOk(['create', '-f', '-'], JSON.stringify({ apiVersion: 'clusterdns.io/v1alpha1', kind: 'ClusterDNS', metadata: { name }, spec: { version: '0.1.0' } }));
    const header = (await kubectlOk(['get', 'cdns', name])).split('\n')[0]!.trim().split(/\s+/);
    assert.deepEqual(header, ['NAME', 'ENGINE', 'VERSION', 'CLUSTER-IP', 'READY', 'SERVING', 'AVAILABLE', 'MISMATCH', 'AGE']);
  });

  test('keeps clusterIP immutable once set, and lets an unset one be set', async () => {
    const name = `immutable-${run}`;
    created.push(name);
    await kubectlOk(['create', '-f', '-'], JSON.stringify({ apiVersion: 'clusterdns.io/v1alpha1', kind: 'ClusterDNS', metadata: { name }, spec: { version: '0.1.0' } }));
    await kubectlOk(['patch', 'cdns', name, '--type=merge', '-p', '{"spec":{"clusterIP":"10.96.7.250"}}']);
    const changed = await kubectl(['patch', 'cdns', name, '--type=merge', '-p', '{"spec":{"clusterIP":"10.96.7.251"}}']);
    assert.notEqual(changed.code, 0);
    assert.match(changed.stderr, /spec\.clusterIP: Forbidden: clusterIP is immutable once set/);
    const removed = await kubectl(['patch', 'cdns', name, '--type=json', '-p', '[{"op":"remove","path":"/spec/clusterIP"}]']);
    assert.notEqual(removed.code, 0);
    assert.match(removed.stderr, /clusterIP is immutable once set/);
    await kubectlOk(['patch', 'cdns', name, '--type=merge', '-p', '{"spec":{"replicas":3}}']);
  });

  test('switches an instance from replicas to autoscaling only together with removing replicas, as the README says', async () => {
    const name = `switch-${run}`;
    created.push(name);
    await kubectlOk(['create', '-f', '-'], JSON.stringify({ apiVersion: 'clusterdns.io/v1alpha1', kind: 'ClusterDNS', metadata: { name }, spec: { version: '0.1.0', replicas: 3 } }));
    const added = await kubectl(['patch', 'cdns', name, '--type=merge', '-p', '{"spec":{"autoscaling":{"nodesPerReplica":16}}}']);
    assert.notEqual(added.code, 0);
    assert.match(added.stderr, /spec\.autoscaling: Forbidden: spec\.replicas and spec\.autoscaling are mutually exclusive/);
    await kubectlOk(['patch', 'cdns', name, '--type=json', '-p',
      '[{"op":"remove","path":"/spec/replicas"},{"op":"add","path":"/spec/autoscaling","value":{"nodesPerReplica":16}}]']);
    const spec = JSON.parse(await kubectlOk(['get', 'cdns', name, '-o', 'jsonpath={.spec}'])) as Record<string, unknown>;
    assert.equal(spec['replicas'], undefined, 'no default comes back');
    assert.deepEqual(spec['autoscaling'], { nodesPerReplica: 16, min: 1, max: 100, preventSinglePointFailure: true, includeUnschedulableNodes: true });
    await kubectlOk(['patch', 'cdns', name, '--type=json', '-p', '[{"op":"remove","path":"/spec/autoscaling"}]']);
    assert.equal(await kubectlOk(['get', 'cdns', name, '-o', 'jsonpath={.spec.replicas}']), '', 'back to the operator\'s default of 2, unstored');
  });

  test('accepts the sample of config/samples, which zod accepts too', async () => {
    const answer = JSON.parse(await kubectlOk(['create', '--dry-run=server', '-o', 'json', '-f', join(REPO_ROOT, 'config/samples/clusterdns_v1alpha1_kube-dns-2.yaml')])) as unknown;
    const parsed = parseClusterDNS(answer);
    assert.ok(parsed.ok, parsed.ok ? '' : parsed.error);
    assert.equal(parsed.value.spec.clusterIP, '10.96.0.20');
    assert.deepEqual(parsed.value.spec.injection.namespaceSelector, { matchLabels: { 'kubernetes.io/metadata.name': 'demo' } });
  });
});
