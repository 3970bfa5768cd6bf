// FrameBatcher: merged deltas, the first flush at once, later chunks of a fast stream coalesced, and
// send() never waiting.
import t from 'tap';
import { decodeBatch, F, type FrameBatch } from '../wire/frames';
import { FrameBatcher } from './batch';

// A wide window, so that a slow test machine cannot outlast it between two calls.
const WINDOW_MS = 300;

function batcher(): { out: FrameBatcher; sent: FrameBatch[] } {
  const sent: FrameBatch[] = [];
  return { out: new FrameBatcher((data) => sent.push(decodeBatch(data)), 'w1', undefined, WINDOW_MS), sent };
}

t.test('the first chunk leaves at once; chunks right after it wait briefly and leave as one merged message', async (t) => {
  const { out, sent } = batcher();
  out.push([F.TextDelta, 0, 'a']);
  out.flushSoon();
  t.equal(sent.length, 1, 'first flush is immediate');
  out.push([F.TextDelta, 0, 'b']);
  out.flushSoon();
  out.push([F.TextDelta, 0, 'c']);
  out.flushSoon();
  t.equal(sent.length, 1, 'held within the coalescing window');
  await new Promise((r) => setTimeout(r, WINDOW_MS + 50));
  t.same(sent.map((b) => [b.seq, b.frames]), [[0, [[F.TextDelta, 0, 'a']]], [1, [[F.TextDelta, 0, 'bc']]]]);
});

t.test('send() takes held frames along at once, and the held timer does not send them again', async (t) => {
  const { out, sent } = batcher();
  out.push([F.TextDelta, 0, 'a']);
  out.flushSoon();
  out.push([F.TextDelta, 0, 'b']);
  out.flushSoon();
  out.send([F.Completed, null, null]);
  t.same(sent[1].frames, [[F.TextDelta, 0, 'b'], [F.Completed, null, null]]);
  await new Promise((r) => setTimeout(r, WINDOW_MS + 50));
  t.equal(sent.length, 2);
});

t.test('a batch over the NATS payload bound leaves as several numbered messages, deltas split whole characters', async (t) => {
  const raw: Uint8Array[] = [];
  const out = new FrameBatcher((data) => raw.push(data), 'w1');
  const text = `${'x'.repeat(700_000)}😀${'y'.repeat(700_001)}`;
  out.push([F.ItemAdded, 0, { type: 'message', id: 'msg_1', role: 'assistant', status: 'in_progress', content: [] }]);
  out.push([F.TextDelta, 0, text]);
  out.send([F.Completed, null, null]);
  t.ok(raw.length > 2, `${raw.length} messages`);
  t.ok(raw.every((d) => d.byteLength <= 256 * 1024), 'each under 256 KiB');
  const batches = raw.map(decodeBatch);
  t.same(batches.map((b) => b.seq), batches.map((_, i) => i), 'numbered in order');
  const frames = batches.flatMap((b) => b.frames);
  t.equal(frames.filter((f) => f[0] === F.TextDelta).map((f) => f[2]).join(''), text, 'the text arrives whole, emoji included');
  t.same(frames.at(-1), [F.Completed, null, null]);
});
