/**
 * DNS over TCP's framing (RFC 1035 §4.2.2, RFC 7766 §8): every message after a two-byte
 * length. The reader takes a byte stream in the chunks it arrives in and hands out whole
 * messages.
 *
 * Each byte is copied a bounded number of times whatever the chunks look like: whole
 * messages are copied once out of the chunk they came in, and only the tail of a message
 * split across chunks is kept in memory of the reader's own, which grows by doubling. (The
 * obvious way, `Buffer.concat` of everything buffered with every chunk, is quadratic: a
 * 64 KiB message sent a byte at a time would copy two gigabytes.)
 */

/** The largest frame: a 65535-byte message and its length. */
export const MAX_FRAME_BYTES = 65_537;
const EMPTY = Buffer.alloc(0);
const MIN_STORE_BYTES = 512;

export class FrameReader {
  /** The unread bytes are `buffer[start, end)`. */
  private buffer: Buffer = EMPTY;
  private start = 0;
  private end = 0;
  /** Whether `buffer` is the reader's own (it may append to it) rather than a chunk it was given. */
  private owned = false;

  /** Bytes received and not yet handed out. */
  get buffered(): number {
    return this.end - this.start;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    if (this.start === this.end) {
      this.buffer = chunk;
      this.start = 0;
      this.end = chunk.length;
      this.owned = false;
      return;
    }
    if (this.owned && this.buffer.length - this.end >= chunk.length) {
      chunk.copy(this.buffer, this.end);
      this.end += chunk.length;
      return;
    }
    this.store(chunk);
  }

  /**
   * The next whole message (a copy, so that it does not keep the chunk alive), or undefined
   * when it has not all arrived yet. A zero-length frame gives an empty buffer.
   */
  next(): Buffer | undefined {
    const unread = this.end - this.start;
    if (unread < 2) {
      this.keepOwnCopy();
      return undefined;
    }
    const length = this.buffer.readUInt16BE(this.start);
    if (unread < length + 2) {
      this.keepOwnCopy();
      return undefined;
    }
    const message = Buffer.allocUnsafe(length);
    this.buffer.copy(message, 0, this.start + 2, this.start + 2 + length);
    this.start += length + 2;
    if (this.start === this.end) this.clear();
    return message;
  }

  /** Forgets everything buffered. */
  clear(): void {
    this.buffer = EMPTY;
    this.start = 0;
    this.end = 0;
    this.owned = false;
  }

  /** Moves the unread bytes and `chunk` into a new buffer of the reader's own, twice the size needed (at most a frame's, unless more is needed). */
  private store(chunk: Buffer): void {
    const unread = this.end - this.start;
    const needed = unread + chunk.length;
    const store = Buffer.allocUnsafe(Math.max(needed, Math.min(2 * needed, MAX_FRAME_BYTES), MIN_STORE_BYTES));
    this.buffer.copy(store, 0, this.start, this.end);
    chunk.copy(store, unread);
    this.buffer = store;
    this.start = 0;
    this.end = needed;
    this.owned = true;
  }

  /** A partial message must not keep the (up to 64 KiB) chunk it arrived in alive: its bytes move to memory of our own. */
  private keepOwnCopy(): void {
    if (this.owned || this.start === this.end) return;
    this.store(EMPTY);
  }
}

/** `message` with its two-byte length in front, ready to write. */
export function frame(message: Buffer): Buffer {
  const framed = Buffer.allocUnsafe(message.length + 2);
  framed.writeUInt16BE(message.length, 0);
  message.copy(framed, 2);
  return framed;
}
