/**
 * Domain names on the wire: reading (with compression pointers) and the presentation form
 * used everywhere else in the resolver.
 *
 * Presentation form: labels joined by dots, no trailing dot, the root is `''`. A byte that
 * is not a printable ASCII character, and a `.` or `\` inside a label, is escaped as `\DDD`,
 * so every wire name has exactly one presentation and `toLowerCase()` folds only A-Z, as DNS
 * case-insensitivity requires.
 */

/** A wire name that cannot be read: the message is malformed. */
export class WireFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WireFormatError';
  }
}

const MAX_NAME_LENGTH = 255;
const MAX_POINTER_HOPS = 64;

export interface ReadName {
  /** Presentation form, in the case it was sent. */
  readonly name: string;
  /** Offset just after the name where it started (after the first pointer if it had one). */
  readonly end: number;
}

/**
 * Reads the name at `offset`. Pointers are followed (only backwards, a bounded number of
 * times) unless `allowPointers` is false, as in a question, where a pointer has nothing
 * before it to point at.
 */
export function readName(message: Buffer, offset: number, allowPointers = true): ReadName {
  let name = '';
  let position = offset;
  let end = -1;
  let wireLength = 1;
  let hops = 0;
  for (;;) {
    if (position >= message.length) throw new WireFormatError('name runs past the end of the message');
    const length = message[position] ?? 0;
    if (length === 0) {
      if (end < 0) end = position + 1;
      return { name, end };
    }
    if ((length & 0xc0) === 0xc0) {
      if (!allowPointers) throw new WireFormatError('compression pointer in the question');
      if (position + 1 >= message.length) throw new WireFormatError('truncated compression pointer');
      const target = ((length & 0x3f) << 8) | (message[position + 1] ?? 0);
      if (target >= position || ++hops > MAX_POINTER_HOPS) throw new WireFormatError('compression pointer does not point backwards');
      if (end < 0) end = position + 2;
      position = target;
      continue;
    }
    if ((length & 0xc0) !== 0) throw new WireFormatError(`unsupported label type 0x${length.toString(16)}`);
    const start = position + 1;
    const stop = start + length;
    if (stop > message.length) throw new WireFormatError('label runs past the end of the message');
    wireLength += length + 1;
    if (wireLength > MAX_NAME_LENGTH) throw new WireFormatError('name longer than 255 bytes');
    const label = labelText(message, start, stop);
    name = name === '' ? label : `${name}.${label}`;
    position = stop;
  }
}

/** One label in presentation form. */
function labelText(message: Buffer, start: number, stop: number): string {
  let plain = true;
  for (let i = start; i < stop; i++) {
    const c = message[i] ?? 0;
    if (c <= 0x20 || c >= 0x7f || c === 0x2e || c === 0x5c) {
      plain = false;
      break;
    }
  }
  if (plain) return message.toString('latin1', start, stop);
  let text = '';
  for (let i = start; i < stop; i++) {
    const c = message[i] ?? 0;
    text += c <= 0x20 || c >= 0x7f || c === 0x2e || c === 0x5c ? `\\${String(c).padStart(3, '0')}` : String.fromCharCode(c);
  }
  return text;
}

/**
 * Splits a presentation name into its labels as bytes. Undefined when it is not a valid
 * name (an empty label, a label over 63 bytes, a name over 255 bytes, a bad escape).
 */
export function nameToLabels(name: string): Buffer[] | undefined {
  if (name === '') return [];
  const labels: Buffer[] = [];
  let total = 1;
  if (!name.includes('\\')) {
    for (const label of name.split('.')) {
      if (label.length === 0 || label.length > 63) return undefined;
      total += label.length + 1;
      labels.push(Buffer.from(label, 'latin1'));
    }
    return total > MAX_NAME_LENGTH ? undefined : labels;
  }
  let current: number[] = [];
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c === 0x2e) {
      if (current.length === 0 || current.length > 63) return undefined;
      total += current.length + 1;
      labels.push(Buffer.from(current));
      current = [];
    } else if (c === 0x5c) {
      const digits = name.slice(i + 1, i + 4);
      if (/^\d{3}$/.test(digits) && Number(digits) <= 255) {
        current.push(Number(digits));
        i += 3;
      } else if (i + 1 < name.length) {
        current.push(name.charCodeAt(++i) & 0xff);
      } else {
        return undefined;
      }
    } else {
      current.push(c & 0xff);
    }
  }
  if (current.length === 0 || current.length > 63) return undefined;
  total += current.length + 1;
  labels.push(Buffer.from(current));
  return total > MAX_NAME_LENGTH ? undefined : labels;
}

/** True when `name` is `zone` or below it (both in lower case presentation form). */
export function isSubdomain(name: string, zone: string): boolean {
  if (zone === '') return true;
  return name === zone || (name.length > zone.length && name.endsWith(zone) && name.charCodeAt(name.length - zone.length - 1) === 0x2e);
}
