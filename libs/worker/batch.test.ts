// FrameBatcher: merged deltas, the first flush at once, later chunks of a fast stream coalesced, and
// send() never waiting.
import t from 'tap';
import { decodeBatch, F, type FrameBatch } from '../wire/frames';
import { FrameBatcher } from './batch';

// A wide window, so that a slow test machine cannot outlast it between two calls.
const WINDOW_MS = 300;

function batcher(): { out: FrameBatcher; sent: FrameBatch[] } {
  const sent: FrameBatch[] = [];
  return { out: new FrameBatcher((data) => sent.push(decodeBatch(data)), 'w1', WINDOW_MS), sent };
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
