import t from 'tap';
import { FrameBatcher } from '../worker/batch';
import { decodeBatch, decodeBatches, encodeBatch, encodeBatches, F, isTerminal, type Frame } from './frames';

t.test('a batch survives the codec', async (t) => {
  const frames: Frame[] = [
    [F.Accepted, 'w1'],
    [F.ItemAdded, 0, { type: 'message', id: 'm', role: 'assistant', content: [] }],
    [F.TextDelta, 0, 'héllo ✓'],
    [F.Completed, null, null],
  ];
  t.same(decodeBatch(encodeBatch({ seq: 7, workerId: 'w1', frames })), { seq: 7, workerId: 'w1', frames });
  t.ok(isTerminal(frames[3]));
  t.notOk(isTerminal(frames[2]));
});

t.test('batches of many responses in one message keep their order and name their responses', async (t) => {
  const batches = [
    { seq: 0, workerId: 'w1', frames: [[F.Accepted, 'w1']] as Frame[], requestId: 'resp_a' },
    { seq: 0, workerId: 'w1', frames: [[F.TextDelta, 0, 'x'.repeat(70_000)]] as Frame[], requestId: 'resp_b' },
    { seq: 1, workerId: 'w1', frames: [[F.Completed, null, null]] as Frame[], requestId: 'resp_a' },
  ];
  t.same(decodeBatches(encodeBatches(batches.map(encodeBatch))), batches);
  t.same(decodeBatches(encodeBatches([encodeBatch(batches[0])])), [batches[0]], 'one batch alone');
  t.same(decodeBatch(encodeBatch(batches[2])), batches[2], 'a batch that names its response, read alone');
});

t.test('the batcher merges consecutive deltas of one item and numbers its messages', async (t) => {
  const sent: Uint8Array[] = [];
  const b = new FrameBatcher((d) => sent.push(d), 'w1');
  b.push([F.TextDelta, 0, 'a']);
  b.push([F.TextDelta, 0, 'b']);
  b.push([F.ArgsDelta, 1, '{']);
  b.push([F.ArgsDelta, 1, '}']);
  b.push([F.TextDelta, 0, 'c']);
  b.push([F.ReasoningDelta, 2, 0, 'x']);
  b.push([F.ReasoningDelta, 2, 0, 'y']);
  b.flush();
  b.flush(); // nothing pending: no message
  b.send([F.Keepalive]);
  t.equal(sent.length, 2);
  const first = decodeBatch(sent[0]);
  t.equal(first.seq, 0);
  t.same(first.frames, [[F.TextDelta, 0, 'ab'], [F.ArgsDelta, 1, '{}'], [F.TextDelta, 0, 'c'], [F.ReasoningDelta, 2, 0, 'x'], [F.ReasoningDelta, 2, 0, 'y']]);
  t.equal(decodeBatch(sent[1]).seq, 1);
});
