/**
 * The image the real node runs is the Dockerfile's: buildah ran the Dockerfile's own steps,
 * and what the Dockerfile declares (user, entry point, command, ports, environment, working
 * directory, labels) is what the image's configuration says. The base built here stands in
 * for the Dockerfile's `node:<version>-bookworm-slim`: a pod of the image runs that Node.js
 * release on Debian bookworm, so a new Node.js in the Dockerfile without a new base fails here.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { readVersions, repositoryRoot } from '../../src/local/repo.ts';
import { parseDockerfile } from '../support/dockerfile.ts';
import { runToCompletion } from '../support/node-pods.ts';
import { nodeNamespace, realNode } from '../support/real-node.ts';
import type { NodeUnderTest } from '../support/real-node.ts';

interface ImageConfig {
  config: { User?: string; Entrypoint?: string[]; Cmd?: string[]; Env?: string[]; WorkingDir?: string; ExposedPorts?: Record<string, object>; Labels?: Record<string, string> };
}

/** The image configuration inside an OCI archive (index → manifest → config). */
function archiveConfig(archive: string): ImageConfig {
  const read = (path: string): string => execFileSync('tar', ['-xOf', archive, path], { encoding: 'utf8', maxBuffer: 16 << 20 });
  const blob = (digest: string): string => read(`blobs/sha256/${digest.replace(/^sha256:/, '')}`);
  const index = JSON.parse(read('index.json')) as { manifests: Array<{ digest: string }> };
  const manifest = JSON.parse(blob(index.manifests[0]?.digest ?? '')) as { config: { digest: string } };
  return JSON.parse(blob(manifest.config.digest)) as ImageConfig;
}

/** What the Dockerfile's last stage declares. */
function declared(dockerfile: string): Record<string, string> {
  const instructions = parseDockerfile(dockerfile);
  const last = instructions.map((i) => i.keyword).lastIndexOf('FROM');
  const values: Record<string, string> = {};
  for (const { keyword, args } of instructions.slice(last)) values[keyword] = values[keyword] && keyword === 'LABEL' ? `${values[keyword]} ${args}` : args;
  return values;
}

describe('real node: the image built here from the Dockerfile', () => {
  let h: NodeUnderTest;
  const dockerfile = readFileSync(join(repositoryRoot(), 'Dockerfile'), 'utf8');
  const wants = declared(dockerfile);

  before(async () => { h = await realNode(); });

  test('its configuration is what the Dockerfile declares', () => {
    const { config } = archiveConfig(h.images.current.archive);
    assert.equal(config.User, wants['USER']);
    assert.deepEqual(config.Entrypoint, JSON.parse(wants['ENTRYPOINT'] ?? '[]'));
    assert.deepEqual(config.Cmd, JSON.parse(wants['CMD'] ?? '[]'));
    assert.equal(config.WorkingDir, wants['WORKDIR']);
    assert.ok(config.Env?.includes(wants['ENV'] ?? ''), `Env has ${wants['ENV'] ?? ''}`);
    const ports = (wants['EXPOSE'] ?? '').split(/\s+/).map((p) => (p.includes('/') ? p : `${p}/tcp`)).sort();
    assert.deepEqual(Object.keys(config.ExposedPorts ?? {}).sort(), ports);
    assert.equal(config.Labels?.['org.opencontainers.image.title'], 'clusterdns');
  });

  test('two tags of the same content differ only in their version label', () => {
    const [current, next] = [archiveConfig(h.images.current.archive), archiveConfig(h.images.next.archive)];
    assert.equal(current.config.Labels?.['org.opencontainers.image.version'], h.images.current.name.split(':').pop());
    assert.equal(next.config.Labels?.['org.opencontainers.image.version'], h.images.next.name.split(':').pop());
    assert.deepEqual({ ...current.config, Labels: {} }, { ...next.config, Labels: {} });
  });

  test('a pod of it runs the Node.js release the Dockerfile names, on Debian bookworm, as the unprivileged user', async () => {
    const namespace = await nodeNamespace(h, 'image');
    const { phase, log } = await runToCompletion(h, namespace, {
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'inspect' },
      spec: {
        restartPolicy: 'Never',
        containers: [{ name: 'inspect', image: h.images.current.name, imagePullPolicy: 'Never', command: ['sh', '-c', 'node --version; cat /etc/debian_version; id -u; clusterdns --help | head -1; du -sxk / 2>/dev/null | cut -f1'] }],
      },
    });
    assert.equal(phase, 'Succeeded', log);
    const [nodeVersion, debian, uid, help, rootKiB] = log.trim().split('\n');
    assert.equal(nodeVersion, `v${readVersions().node}`);
    assert.match(debian ?? '', /^12\.\d+$/, 'Debian 12 (bookworm)');
    assert.equal(uid, '1000');
    assert.match(help ?? '', /^usage: clusterdns/);
    process.stderr.write(`# real node: image ${h.images.current.name}: archive ${(h.images.current.bytes / 2 ** 20).toFixed(0)} MiB (compressed layers), root file system ${(Number(rootKiB) / 1024).toFixed(0)} MiB\n`);
  });
});
