/**
 * Differential test: CoreDNS (built from its Go module, `kubernetes` plugin, the Corefile of
 * dns-behaviour.md) and the resolver, pointed at the same apiserver and the same upstream,
 * are asked a few hundred questions over the same cluster state. Normalized answers (order;
 * TTLs of non-authoritative answers; the SOA serial; name case) must be equal, except for the
 * intended differences listed in docs/coredns-differences.md, where the resolver's own answer
 * is checked instead.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { controlPlane, createNamespace, eventually, kubeClient } from '../support/cluster.ts';
import { ask, render } from '../dns/client.ts';
import type { Rendered, Server } from '../dns/client.ts';
import { normalise } from '../../src/dns/answers.ts';
import { intendedDifference } from '../../src/dns/intended-differences.ts';
import { CoreDNSProcess } from '../resolver/coredns.ts';
import { ResolverProcess } from '../resolver/process.ts';
import { UpstreamServer } from '../resolver/upstream-server.ts';
import { clusterState, questions } from '../resolver/differential.ts';
import type { Question } from '../resolver/differential.ts';

let upstream: UpstreamServer;
let resolver: ResolverProcess;
let coredns: CoreDNSProcess | undefined;
let corednsServer: Server;
let ns = '';
let other = '';

describe('the resolver beside CoreDNS on one cluster state', () => {
  before(async () => {
    upstream = await UpstreamServer.start();
    upstream.set('db.example.test', 'A', { kind: 'answer', records: [{ type: 'A', name: 'db.example.test', ttl: 120, data: '192.0.2.10' }] });
    upstream.set('www.example.test', 'A', { kind: 'answer', records: [{ type: 'A', name: 'www.example.test', ttl: 120, data: '192.0.2.11' }] });
    ns = await createNamespace('diff');
    other = await createNamespace('diff-other');
    await clusterState(kubeClient(), ns, other);

    coredns = await CoreDNSProcess.start(controlPlane().kubeconfigPath, upstream.address);
    corednsServer = coredns.server;
    resolver = await ResolverProcess.start({ kubeconfig: controlPlane().kubeconfigPath, config: { ttl: 30, pods: 'insecure', upstream: { nameservers: [upstream.address] } } });

    // Both have seen the whole state once the last object is answered the same by both.
    const last = `ext-in.${ns}.svc.cluster.local`;
    await eventually(async () => {
      const [a, b] = [await normalizedAnswer(resolver.server, last, 'A'), await normalizedAnswer(corednsServer, last, 'A')];
      assert.equal(a.answer.length, 2);
      assert.deepEqual(a, b);
    }, { timeoutMs: 60_000, what: 'both servers synced' });
  });

  after(async () => {
    await resolver.stop();
    await coredns?.stop();
    await upstream.stop();
  });

  type Normalized = Omit<Rendered, 'ra'> & { ra: boolean };

  /** Order, TTLs of answers that are not authoritative, SOA serials and case do not count. */
  function normalize(rendered: Rendered): Normalized {
    const line = (text: string): string => {
      let out = text.toLowerCase();
      if (/ in soa /.test(out)) out = out.replace(/^(\S+ \d+ in soa \S+ \S+) \d+/, '$1 SERIAL');
      // Records from upstream carry TTLs that count down in each server's cache.
      const fromUpstream = !rendered.aa || !/^(\S*\.)?(cluster\.local|arpa)\. /.test(out);
      if (fromUpstream) out = out.replace(/^(\S+) \d+ /, '$1 TTL ');
      return out;
    };
    const section = (lines: string[]): string[] => lines.map(line).sort();
    return { ...rendered, answer: section(rendered.answer), ns: section(rendered.ns), extra: section(rendered.extra) };
  }

  async function normalizedAnswer(server: Server, name: string, type: string): Promise<Normalized> {
    return normalize(render(await ask(server, name, type, { edns: 4096, timeoutMs: 3000 })));
  }

  /** The intended differences of docs/coredns-differences.md, each with what the resolver answers instead. */
  interface IntendedDifference {
    readonly rule: string;
    readonly applies: (q: Question) => boolean;
    readonly ours: (answer: Normalized, q: Question) => void;
  }

  const nodata = (answer: Normalized): void => {
    assert.equal(answer.rcode, 'NOERROR');
    assert.deepEqual(answer.answer, []);
    assert.match(answer.ns[0] ?? '', / in soa /);
  };

  const INTENDED: readonly IntendedDifference[] = [
    {
      rule: 'ANY gets one synthesized HINFO (RFC 8482)',
      applies: (q) => q.type === 'ANY',
      ours: (answer, q) => {
        if (answer.rcode === 'NXDOMAIN') return;
        assert.deepEqual(answer.answer, [`${q.name.toLowerCase()}. 30 in hinfo "rfc8482" ""`]);
      },
    },
    {
      rule: 'the apex, svc, pod and namespace names exist for TXT too (NODATA, not NXDOMAIN)',
      applies: (q) => q.type === 'TXT' && (q.kind === 'structural' || q.kind === 'apex'),
      ours: nodata,
    },
    {
      rule: 'dns-version and ns.dns exist for every type (NODATA, not NXDOMAIN)',
      applies: (q) => (q.kind === 'version' && q.type !== 'TXT' && q.type !== 'ANY') || (q.kind === 'nameserver' && (q.type === 'TXT' || q.type === 'PTR')),
      ours: nodata,
    },
    {
      rule: 'SOA below the apex is NXDOMAIN for a name that does not exist',
      applies: (q) => q.type === 'SOA' && q.kind === 'missing',
      ours: (answer) => { assert.equal(answer.rcode, 'NXDOMAIN'); },
    },
    {
      rule: 'NS at the apex names ns.dns.<zone> even without a non-loopback address',
      applies: (q) => q.type === 'NS' && q.kind === 'apex',
      ours: (answer) => { assert.deepEqual(answer.answer, ['cluster.local. 30 in ns ns.dns.cluster.local.']); },
    },
  ];

  test('the resolver answers as CoreDNS does, apart from the documented differences', async () => {
    const all = await questions(kubeClient(), ns, other);
    assert.ok(all.length >= 300, `${all.length} questions`);
    const mismatches: string[] = [];
    const differing = new Map<string, number>(INTENDED.map((d) => [d.rule, 0]));
    let compared = 0;
    let intended = 0;
    for (const q of all) {
      const difference = INTENDED.find((d) => d.applies(q));
      const ours = await normalizedAnswer(resolver.server, q.name, q.type);
      if (difference) {
        intended++;
        try {
          difference.ours(ours, q);
        } catch (error) {
          mismatches.push(`${q.name} ${q.type} (${difference.rule}): ${error instanceof Error ? error.message : String(error)}`);
        }
        const theirs = await normalizedAnswer(corednsServer, q.name, q.type);
        if (JSON.stringify(ours) !== JSON.stringify(theirs)) {
          differing.set(difference.rule, (differing.get(difference.rule) ?? 0) + 1);
          // The rules that compare and the shadow comparison use (src/dns) know this one too.
          const [theirs, ours] = [normalise(await ask(corednsServer, q.name, q.type)), normalise(await ask(resolver.server, q.name, q.type))];
          if (!intendedDifference(q, theirs, ours, 'cluster.local')) mismatches.push(`${q.name} ${q.type} (${difference.rule}): not an intended difference to src/dns/intended-differences.ts`);
        }
        continue;
      }
      compared++;
      let theirs = await normalizedAnswer(corednsServer, q.name, q.type);
      if (JSON.stringify(ours) !== JSON.stringify(theirs)) {
        // A change the two watches have not both seen yet: ask both again once.
        await new Promise((resolve) => setTimeout(resolve, 1000));
        const again = await normalizedAnswer(resolver.server, q.name, q.type);
        theirs = await normalizedAnswer(corednsServer, q.name, q.type);
        if (JSON.stringify(again) !== JSON.stringify(theirs)) mismatches.push(`${q.name} ${q.type}\n  ours:    ${JSON.stringify(again)}\n  coredns: ${JSON.stringify(theirs)}`);
      }
    }
    process.stderr.write(`# differential: ${compared} questions compared with CoreDNS, ${intended} intended differences checked\n`);
    assert.deepEqual(mismatches, []);
    assert.ok(intended < compared / 4, 'the intended differences stay few');
    // Every listed difference is real: CoreDNS answers at least one of its questions otherwise.
    assert.deepEqual([...differing].filter(([, count]) => count === 0).map(([rule]) => rule), []);
  });
});
