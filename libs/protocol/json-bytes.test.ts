import t from 'tap';
import { asciiText, parseJsonBytes } from './json-bytes';
import { codexRequest } from '../providers/replay';

/** What parseJsonBytes must match: the value, or a SyntaxError, of the plain decode-then-parse. */
function plain(buf: Buffer): { value?: unknown; error?: string } {
  try {
    return { value: JSON.parse(buf.toString('utf8')) };
  } catch (err) {
    return { error: (err as Error).name };
  }
}

function fast(buf: Buffer): { value?: unknown; error?: string } {
  try {
    return { value: parseJsonBytes(buf) };
  } catch (err) {
    return { error: (err as Error).name };
  }
}

t.test('a Codex body parses to the same value, on the escaped path', async (t) => {
  const buf = Buffer.from(JSON.stringify(codexRequest()));
  t.ok(buf.some((b) => b >= 0x80), 'the captured body has non-ASCII characters (’ …)');
  t.ok(asciiText(buf), 'escaped rather than decoded whole');
  t.same(fast(buf), plain(buf));
});

t.test('characters of every UTF-8 length, and invalid bytes, parse as Buffer#toString decodes them', async (t) => {
  const texts = ['é', '’…', '中文字符', '😀 emoji 👍🏽', 'a\u0000b', 'mixed é and 😀 and \\n escapes', '\uFFFD'];
  for (const text of texts) {
    const buf = Buffer.from(JSON.stringify({ text, list: [text, { [text]: text }] }));
    t.same(fast(buf), plain(buf), JSON.stringify(text));
  }
  // Invalid UTF-8: a lone continuation byte, a truncated sequence, an overlong form, a surrogate.
  for (const bad of [[0x80], [0xe2, 0x80], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xff, 0xfe]]) {
    const buf = Buffer.concat([Buffer.from('{"a":"x'), Buffer.from(bad), Buffer.from('y"}')]);
    t.same(fast(buf), plain(buf), `bytes ${bad.map((b) => b.toString(16)).join(' ')}`);
  }
});

t.test('a backslash before a raw character stays an invalid escape; non-ASCII outside strings stays a syntax error', async (t) => {
  const escaped = Buffer.from('{"a":"\\é"}');
  t.equal(asciiText(escaped), null, 'left to the plain path');
  t.same(fast(escaped), plain(escaped));
  t.same(fast(Buffer.from('{"a":"\\\\é"}')), plain(Buffer.from('{"a":"\\\\é"}')), 'an escaped backslash then é');
  for (const body of ['{"a":é}', '{é:1}', 'é', '{"a":"é"']) t.same(fast(Buffer.from(body)), plain(Buffer.from(body)), body);
});

t.test('runs across 4 KiB blocks, mostly non-ASCII text, and random documents match the plain path', async (t) => {
  const long = Buffer.from(JSON.stringify({ a: 'x'.repeat(4090) + 'é’😀' + 'y'.repeat(5000) + '中'.repeat(3) }));
  t.same(fast(long), plain(long), 'a run that straddles a block boundary');
  const cjk = Buffer.from(JSON.stringify({ a: '中文'.repeat(5000) }));
  t.equal(asciiText(cjk), null, 'mostly non-ASCII: decoded whole');
  t.same(fast(cjk), plain(cjk));
  let seed = 7;
  const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n);
  const alphabet = ['a', ' ', '"', '\\', '{', '}', '[', ']', ':', ',', '1', 'é', '’', '😀', '中', '\u0085'];
  for (let i = 0; i < 2000; i++) {
    const doc = { k: Array.from({ length: rand(40) }, () => alphabet[rand(alphabet.length)]).join(''), n: rand(100) };
    const valid = Buffer.from(JSON.stringify(doc));
    t.same(fast(valid), plain(valid));
    // A mutation of the raw bytes: valid or not, both paths agree.
    const bytes = Buffer.from(valid);
    bytes[rand(bytes.length)] = rand(256);
    t.same(fast(bytes), plain(bytes));
  }
});
