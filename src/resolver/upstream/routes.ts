/**
 * Which servers a name outside the cluster zone goes to: the stub domain with the longest
 * matching zone, else the upstream nameservers (from the config, or /etc/resolv.conf).
 * Pure.
 */
import { isIPv6 } from 'node:net';
import { canonicalIp, ipFamily } from '../../dns/ip.ts';
import { isSubdomain } from '../../dns/names.ts';

export interface ServerAddress {
  readonly host: string;
  readonly port: number;
  readonly family: 4 | 6;
}

/** A server written as `IP`, `IP:port`, `[IPv6]:port` or a bare IPv6 address. */
export function parseServer(text: string): ServerAddress {
  const trimmed = text.trim();
  let host = trimmed;
  let port = 53;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(trimmed);
  if (bracketed) {
    host = bracketed[1] ?? '';
    port = bracketed[2] ? Number(bracketed[2]) : 53;
  } else if (!isIPv6(trimmed) && trimmed.includes(':')) {
    const at = trimmed.lastIndexOf(':');
    host = trimmed.slice(0, at);
    port = Number(trimmed.slice(at + 1));
  }
  const family = ipFamily(host);
  if (!family) throw new Error(`"${text}" is not an IP address (with an optional port)`);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`"${text}" has an invalid port`);
  // Canonical, so that it compares equal to the address a response comes from.
  return { host: canonicalIp(host) ?? host, port, family };
}

/** The `nameserver` lines of a resolv.conf (zone ids of link-local addresses are dropped). */
export function resolvConfServers(text: string): ServerAddress[] {
  const servers: ServerAddress[] = [];
  for (const line of text.split('\n')) {
    const match = /^\s*nameserver\s+(\S+)/.exec(line);
    if (!match) continue;
    try {
      servers.push(parseServer((match[1] ?? '').replace(/%.*$/, '')));
    } catch {
      // A line we cannot use is skipped, as the C library does.
    }
  }
  return servers;
}

export interface Route {
  /** The zone of the stub domain, or '' for the default upstream. */
  readonly zone: string;
  readonly servers: readonly ServerAddress[];
}

export class UpstreamRoutes {
  private readonly stubs: readonly Route[];
  private readonly fallback: Route;

  constructor(defaults: readonly ServerAddress[], stubDomains: Readonly<Record<string, readonly string[]>>) {
    this.fallback = { zone: '', servers: defaults };
    // Longest zone first, so that the most specific stub domain wins.
    this.stubs = Object.entries(stubDomains)
      .map(([zone, servers]) => ({ zone: zone.toLowerCase().replace(/\.$/, ''), servers: servers.map(parseServer) }))
      .sort((a, b) => b.zone.length - a.zone.length);
  }

  /** The route of a lower-case name. */
  routeFor(lowerName: string): Route {
    for (const stub of this.stubs) if (isSubdomain(lowerName, stub.zone)) return stub;
    return this.fallback;
  }
}
