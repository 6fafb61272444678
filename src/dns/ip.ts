/**
 * IP address helpers shared by the index, the answers and the encoder: canonical text
 * forms (as Kubernetes writes them), bytes, dashed names and reverse (PTR) names.
 */
import { isIPv4, isIPv6 } from 'node:net';

export type Family = 4 | 6;

/** 4 or 6 for a valid address, undefined otherwise. */
export function ipFamily(text: string): Family | undefined {
  if (isIPv4(text)) return 4;
  if (isIPv6(text)) return 6;
  return undefined;
}

/** The canonical text of an address (RFC 5952 for IPv6), or undefined when it is not one. */
export function canonicalIp(text: string): string | undefined {
  if (isIPv4(text)) return text;
  if (!isIPv6(text)) return undefined;
  return ipv6ToText(ipv6ToBytes(text));
}

/** Writes the 4 bytes of a dotted IPv4 address at `offset`; the address must be valid. */
export function writeIpv4(text: string, target: Uint8Array, offset: number): void {
  let part = 0;
  let index = offset;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x2e) {
      target[index++] = part;
      part = 0;
    } else {
      part = part * 10 + c - 0x30;
    }
  }
  target[index] = part;
}

/** The 16 bytes of an IPv6 address (valid, possibly with an embedded IPv4 tail). */
export function ipv6ToBytes(text: string): Uint8Array {
  const bytes = new Uint8Array(16);
  let head = text;
  let tail = '';
  const gap = text.indexOf('::');
  if (gap >= 0) {
    head = text.slice(0, gap);
    tail = text.slice(gap + 2);
  }
  const groups = (part: string): number[] => {
    if (part === '') return [];
    const out: number[] = [];
    for (const group of part.split(':')) {
      if (group.includes('.')) {
        const v4 = new Uint8Array(4);
        writeIpv4(group, v4, 0);
        const [a = 0, b = 0, c = 0, d = 0] = v4;
        out.push((a << 8) | b, (c << 8) | d);
      } else {
        out.push(parseInt(group, 16));
      }
    }
    return out;
  };
  const front = groups(head);
  const back = groups(tail);
  const all = [...front, ...new Array<number>(8 - front.length - back.length).fill(0), ...back];
  all.forEach((group, i) => {
    bytes[i * 2] = group >> 8;
    bytes[i * 2 + 1] = group & 0xff;
  });
  return bytes;
}

/** RFC 5952 text of 16 bytes: lower case, leading zeros dropped, the longest zero run as `::`. */
export function ipv6ToText(bytes: Uint8Array): string {
  const groups = Array.from({ length: 8 }, (_, i) => ((bytes[i * 2] ?? 0) << 8) | (bytes[i * 2 + 1] ?? 0));
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

/**
 * The label an endpoint without a hostname is known by: its address with dashes
 * (`10-244-1-13`; for IPv6 `fd00--1`, and a trailing dash gets a `0`), as CoreDNS names it.
 */
export function dashedIp(ip: string): string {
  if (ip.includes('.')) return ip.replaceAll('.', '-');
  const dashed = ip.replaceAll(':', '-');
  return dashed.endsWith('-') ? `${dashed}0` : dashed;
}

/**
 * The address a pod name stands for (`1-2-3-4` or `fd00--1`), as CoreDNS reads it: exactly
 * three dashes and no `--` make an IPv4 address, anything else is tried as IPv6.
 */
export function ipFromDashed(label: string): string | undefined {
  const dashes = label.split('-').length - 1;
  const text = dashes === 3 && !label.includes('--') ? label.replaceAll('-', '.') : label.replaceAll('-', ':');
  return canonicalIp(text);
}

/**
 * The address in a reverse name (`4.3.2.1.in-addr.arpa`, 32 nibbles `.ip6.arpa`), lower
 * case; undefined when the name does not name one whole address.
 */
export function ipFromReverse(name: string): string | undefined {
  if (name.endsWith('.in-addr.arpa')) {
    const labels = name.slice(0, -'.in-addr.arpa'.length).split('.');
    if (labels.length !== 4) return undefined;
    const text = labels.reverse().join('.');
    return isIPv4(text) ? text : undefined;
  }
  if (name.endsWith('.ip6.arpa')) {
    const nibbles = name.slice(0, -'.ip6.arpa'.length).split('.');
    if (nibbles.length !== 32 || !nibbles.every((n) => /^[0-9a-f]$/.test(n))) return undefined;
    nibbles.reverse();
    const groups = Array.from({ length: 8 }, (_, i) => nibbles.slice(i * 4, i * 4 + 4).join(''));
    return canonicalIp(groups.join(':'));
  }
  return undefined;
}
