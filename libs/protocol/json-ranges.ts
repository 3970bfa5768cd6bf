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
export interface Member extends Span {
  keyEnd: number;
  valueStart: number;
  /** The elements of its array value, when objectRanges was asked to expand it. */
  elements?: Element[];
}

/** An array element; an object's members when arrayRanges was asked for them. */
export interface Element extends Span { members?: Member[] }

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

/**
 * The members of the object whose `{` is at `i`, in the order written (duplicate keys included),
 * and where it ends. A member for which `expand` is true and whose value is an array gets that
 * array's elements, each object among them with its members: one pass over the bytes finds them all.
 */
export function objectRanges(b: Buffer, i: number, expand?: (m: Member) => boolean): { members: Member[]; end: number } {
  if (b[i] !== OPEN_OBJECT) throw new SyntaxError(`no object at byte ${i}`);
  const members: Member[] = [];
  i = skipSpace(b, i + 1);
  if (b[i] === CLOSE_OBJECT) return { members, end: i + 1 };
  for (;;) {
    const start = i;
    const keyEnd = stringEnd(b, start);
    const valueStart = skipSpace(b, skipSpace(b, keyEnd) + 1); // past the ':'
    const m: Member = { start, keyEnd, valueStart, end: valueStart };
    if (b[valueStart] === OPEN_ARRAY && expand?.(m)) {
      const array = arrayRanges(b, valueStart, true);
      m.elements = array.elements;
      m.end = array.end;
    } else m.end = valueEnd(b, valueStart);
    members.push(m);
    i = skipSpace(b, m.end);
    if (b[i] !== COMMA) return { members, end: i + 1 };
    i = skipSpace(b, i + 1);
  }
}

/** The elements of the array whose `[` is at `i`, and where it ends; with `objects`, each object's members. */
export function arrayRanges(b: Buffer, i: number, objects = false): { elements: Element[]; end: number } {
  if (b[i] !== OPEN_ARRAY) throw new SyntaxError(`no array at byte ${i}`);
  const elements: Element[] = [];
  i = skipSpace(b, i + 1);
  if (b[i] === CLOSE_ARRAY) return { elements, end: i + 1 };
  for (;;) {
    let element: Element;
    if (objects && b[i] === OPEN_OBJECT) {
      const object = objectRanges(b, i);
      element = { start: i, end: object.end, members: object.members };
    } else element = { start: i, end: valueEnd(b, i) };
    elements.push(element);
    i = skipSpace(b, element.end);
    if (b[i] !== COMMA) return { elements, end: i + 1 };
    i = skipSpace(b, i + 1);
  }
}

/**
 * The source with some of its bytes replaced, added in source order (none overlapping): the result
 * is one copy per edit, however many members and items lie between them.
 */
export class Edits {
  private readonly starts: number[] = [];
  private readonly ends: number[] = [];
  private readonly texts: Array<Buffer | null> = [];
  private last = 0;

  constructor(private readonly source: Buffer) {}

  /** Source bytes [start, end) become `text` (none: they are cut; start = end: it is inserted). */
  replace(start: number, end: number, text?: string): this {
    if (start < this.last || end < start) throw new RangeError(`edit [${start}, ${end}) after one that ended at ${this.last}`);
    this.starts.push(start);
    this.ends.push(end);
    this.texts.push(text ? Buffer.from(text) : null);
    this.last = end;
    return this;
  }

  /**
   * Entries a..b of one list (an object's members, an array's elements) become `text` (entries of
   * that list, comma-joined), or without it go, with the comma that joined them to the rest.
   */
  replaceEntries(entries: readonly Span[], a: number, b: number, text?: string): this {
    if (text) return this.replace(entries[a].start, entries[b].end, text);
    // Up to the next entry (the comma after b goes too); at the end of the list, the comma before a.
    if (b + 1 < entries.length) return this.replace(entries[a].start, entries[b + 1].start);
    return this.replace(a > 0 ? entries[a - 1].end : entries[a].start, entries[b].end);
  }

  /**
   * Edits one list (an object's members, an array's elements) in order: each run of entries that
   * `removed` names becomes what `replacement` gives for its first index, or goes; `kept` may edit
   * inside each other entry.
   */
  editList(entries: readonly Span[], removed: (i: number) => boolean, kept?: (i: number) => void, replacement?: (first: number) => string | undefined): this {
    for (let a = 0; a < entries.length; a++) {
      if (!removed(a)) {
        kept?.(a);
        continue;
      }
      let b = a;
      while (b + 1 < entries.length && removed(b + 1)) b++;
      this.replaceEntries(entries, a, b, replacement?.(a));
      a = b;
    }
    return this;
  }

  bytes(): Buffer {
    const { source, starts, ends, texts } = this;
    let length = source.length;
    for (let i = 0; i < starts.length; i++) length += (texts[i]?.length ?? 0) - (ends[i] - starts[i]);
    const out = Buffer.allocUnsafe(length);
    let from = 0;
    let at = 0;
    for (let i = 0; i < starts.length; i++) {
      at += source.copy(out, at, from, starts[i]);
      const text = texts[i];
      if (text) at += text.copy(out, at);
      from = ends[i];
    }
    source.copy(out, at, from);
    return out;
  }
}
