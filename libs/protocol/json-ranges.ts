// Where the members of a JSON object and the elements of a JSON array sit in the bytes they were
// parsed from, so that a request can be forwarded with a few members cut or replaced instead of
// being serialized again whole (a late Codex turn is megabytes). The bytes must be JSON that
// JSON.parse accepted: this finds boundaries, it does not validate. Strings are skipped with
// Buffer#indexOf (native), so the scan costs little more than finding their closing quotes.

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;

/** A value's bytes: [start, end). */
export interface Span { start: number; end: number }

/** An object member: its bytes from the key's opening quote to the value's end (keyOf reads the key). */
export interface Member extends Span { keyEnd: number; valueStart: number }

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

function skipSpace(b: Uint8Array, i: number): number {
  while (i < b.length && isSpace(b[i])) i++;
  return i;
}

/** The index after the string literal whose opening quote is at `i`. */
function stringEnd(b: Buffer, i: number): number {
  for (let q = i; ;) {
    q = b.indexOf(QUOTE, q + 1);
    if (q < 0) throw new SyntaxError(`unterminated string at byte ${i}`);
    // The quote closes the string unless an odd number of backslashes escape it.
    let k = q - 1;
    while (b[k] === BACKSLASH) k--;
    if ((q - 1 - k) % 2 === 0) return q + 1;
  }
}

/** The index after the value that starts at `i`. */
function valueEnd(b: Buffer, i: number): number {
  const c = b[i];
  if (c === QUOTE) return stringEnd(b, i);
  if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
    let depth = 0;
    while (i < b.length) {
      const x = b[i];
      if (x === QUOTE) {
        i = stringEnd(b, i);
        continue;
      }
      if (x === OPEN_OBJECT || x === OPEN_ARRAY) depth++;
      else if (x === CLOSE_OBJECT || x === CLOSE_ARRAY) {
        depth--;
        if (depth === 0) return i + 1;
      }
      i++;
    }
    throw new SyntaxError(`unterminated value at byte ${i}`);
  }
  // A number, true, false or null.
  while (i < b.length && b[i] !== COMMA && b[i] !== CLOSE_OBJECT && b[i] !== CLOSE_ARRAY && !isSpace(b[i])) i++;
  return i;
}

/** The member's key as JSON.parse reads it (escapes decoded). */
export function keyOf(b: Buffer, m: Member): string {
  const end = m.keyEnd;
  for (let i = m.start + 1; i < end - 1; i++) {
    if (b[i] === BACKSLASH || b[i] >= 0x80) return JSON.parse(b.toString('utf8', m.start, end)) as string;
  }
  return b.toString('latin1', m.start + 1, end - 1);
}

/** Whether the member's key is `key` (ASCII), without building a string for a key written plainly. */
export function keyIs(b: Buffer, m: Member, key: string): boolean {
  const from = m.start + 1;
  const to = m.keyEnd - 1;
  // Written with escapes (`"\u0069d"`), it may still be the same key.
  for (let i = from; i < to; i++) if (b[i] === BACKSLASH) return keyOf(b, m) === key;
  if (to - from !== key.length) return false;
  for (let i = 0; i < key.length; i++) if (b[from + i] !== key.charCodeAt(i)) return false;
  return true;
}

/** The first value of the document (after any leading space). */
export function rootStart(b: Buffer): number {
  return skipSpace(b, 0);
}

/** The members of the object whose `{` is at `i`, in the order written (duplicate keys included). */
export function objectMembers(b: Buffer, i: number): Member[] {
  if (b[i] !== OPEN_OBJECT) throw new SyntaxError(`no object at byte ${i}`);
  const out: Member[] = [];
  i = skipSpace(b, i + 1);
  if (b[i] === CLOSE_OBJECT) return out;
  for (;;) {
    const start = i;
    const keyEnd = stringEnd(b, start);
    const valueStart = skipSpace(b, skipSpace(b, keyEnd) + 1); // past the ':'
    const end = valueEnd(b, valueStart);
    out.push({ start, keyEnd, valueStart, end });
    i = skipSpace(b, end);
    if (b[i] !== COMMA) return out;
    i = skipSpace(b, i + 1);
  }
}

/** The elements of the array whose `[` is at `i`. */
export function arrayElements(b: Buffer, i: number): Span[] {
  if (b[i] !== OPEN_ARRAY) throw new SyntaxError(`no array at byte ${i}`);
  const out: Span[] = [];
  i = skipSpace(b, i + 1);
  if (b[i] === CLOSE_ARRAY) return out;
  for (;;) {
    const end = valueEnd(b, i);
    out.push({ start: i, end });
    i = skipSpace(b, end);
    if (b[i] !== COMMA) return out;
    i = skipSpace(b, i + 1);
  }
}

const LITERALS = new Map([',', '{', '}', '[', ']'].map((s) => [s, Buffer.from(s)]));

/**
 * Bytes assembled from spans of a source and literal text. Entries of one list (an object's members,
 * an array's elements) are joined by commas; a run of entries adjacent in the source is copied as
 * one (between two of them lie only a comma and space), so a body with a few cuts is a few copies.
 */
export class Splice {
  private readonly parts: Buffer[] = [];
  private length = 0;
  private run: { start: number; end: number; index: number } | null = null;

  constructor(private readonly source: Buffer) {}

  text(s: string): this {
    this.close();
    this.push(LITERALS.get(s) ?? Buffer.from(s));
    return this;
  }

  /** Entry `index` of a list, from the source (a Span) or as text; `first` when it opens the list. */
  entry(value: Span | string, index: number, first: boolean): this {
    if (typeof value !== 'string' && this.run && !first && index === this.run.index + 1) {
      this.run.end = value.end;
      this.run.index = index;
      return this;
    }
    if (!first) this.text(',');
    if (typeof value === 'string') return this.text(value);
    this.close();
    this.run = { start: value.start, end: value.end, index };
    return this;
  }

  bytes(): Buffer {
    this.close();
    return Buffer.concat(this.parts, this.length);
  }

  private close(): void {
    if (!this.run) return;
    this.push(this.source.subarray(this.run.start, this.run.end));
    this.run = null;
  }

  private push(part: Buffer): void {
    this.parts.push(part);
    this.length += part.byteLength;
  }
}
