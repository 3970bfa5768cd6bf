import t from 'tap';
import { createParser } from 'eventsource-parser';
import { F, type Frame } from '../wire/frames';
import { ResponseStream } from './sse';
import type { Usage } from './types';

function parse(text: string): Array<{ event?: string; data: Record<string, unknown> }> {
  const out: Array<{ event?: string; data: Record<string, unknown> }> = [];
  const p = createParser({ onEvent: (e) => out.push({ event: e.event, data: JSON.parse(e.data) }) });
  p.feed(text);
  return out;
}

const usage: Usage = { input_tokens: 10, input_tokens_details: { cached_tokens: 2 }, output_tokens: 5, output_tokens_details: { reasoning_tokens: 1 }, total_tokens: 15 };

t.test('frames to events: numbered, typed, complete items, one terminal with the full response', async (t) => {
  const rs = new ResponseStream('resp_1', 'a/b', 1);
  const frames: Frame[] = [
    [F.Accepted, 'w1'],
    [F.Started],
    [F.ItemAdded, 0, { type: 'reasoning', id: 'rs_1', summary: [] }],
    [F.ReasoningDelta, 0, 0, 'think'],
    [F.ReasoningDelta, 0, 1, 'more'],
    [F.ItemDone, 0, { type: 'reasoning', id: 'rs_1', summary: [{ type: 'summary_text', text: 'think' }, { type: 'summary_text', text: 'more' }], encrypted_content: 'sig' }],
    [F.ItemAdded, 1, { type: 'message', id: 'msg_1', role: 'assistant', status: 'in_progress', content: [] }],
    [F.TextDelta, 1, 'He said "hi"\n'],
    [F.ItemDone, 1, { type: 'message', id: 'msg_1', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'He said "hi"\n', annotations: [] }] }],
    [F.ItemAdded, 2, { type: 'function_call', id: 'fc_1', call_id: 'c1', name: 'exec_command', arguments: '', status: 'in_progress' }],
    [F.ArgsDelta, 2, '{"cmd":"ls"}'],
    [F.ItemDone, 2, { type: 'function_call', id: 'fc_1', call_id: 'c1', name: 'exec_command', arguments: '{"cmd":"ls"}', status: 'completed' }],
    [F.Keepalive],
    [F.Completed, usage, null],
  ];
  const events = parse(rs.start() + frames.map((f) => rs.frame(f)).join(''));
  t.same(events.map((e) => e.data.sequence_number), events.map((_, i) => i));
  t.ok(events.every((e) => e.event === e.data.type));
  t.same(events.map((e) => e.data.type), [
    'response.created', 'response.in_progress',
    'response.output_item.added', 'response.reasoning_summary_part.added', 'response.reasoning_summary_text.delta',
    'response.reasoning_summary_part.added', 'response.reasoning_summary_text.delta',
    'response.reasoning_summary_text.done', 'response.reasoning_summary_part.done', 'response.reasoning_summary_text.done', 'response.reasoning_summary_part.done', 'response.output_item.done',
    'response.output_item.added', 'response.content_part.added', 'response.output_text.delta', 'response.output_text.done', 'response.content_part.done', 'response.output_item.done',
    'response.output_item.added', 'response.function_call_arguments.delta', 'response.function_call_arguments.done', 'response.output_item.done',
    'response.completed',
  ]);
  const delta = events.find((e) => e.data.type === 'response.output_text.delta')!.data;
  t.match(delta, { item_id: 'msg_1', output_index: 1, content_index: 0, delta: 'He said "hi"\n' });
  t.match(events.find((e) => e.data.type === 'response.reasoning_summary_text.delta')!.data, { item_id: 'rs_1', summary_index: 0, delta: 'think' });
  const done = events.at(-1)!.data.response as { id: string; status: string; output: unknown[]; usage: Usage };
  t.equal(done.id, 'resp_1');
  t.equal(done.status, 'completed');
  t.equal(done.output.length, 3);
  t.same(done.usage, usage);
});

t.test('incomplete and failed terminals; nothing after the terminal', async (t) => {
  const cut = new ResponseStream('resp_2', 'a/b');
  const incomplete = parse(cut.frame([F.Completed, null, 'max_output_tokens']));
  t.match(incomplete[0].data, { type: 'response.incomplete', response: { status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' } } });
  t.equal(cut.frame([F.Completed, usage, null]), '', 'a second terminal is never written');

  const bad = new ResponseStream('resp_3', 'a/b');
  const error = { message: 'Rate limited. Please try again in 3s.', type: 'rate_limit_error', param: null, code: 'rate_limit_exceeded' };
  const failed = parse(bad.frame([F.Failed, error, 429, 3]));
  t.same(failed.map((e) => e.data.type), ['error', 'response.failed']);
  t.same(failed[0].data.error, error, 'the error event nests its error (the form Codex reads)');
  t.match(failed[1].data.response, { status: 'failed', error });
  t.equal(bad.failed(error), '');
});

t.test('the envelope has no output while in progress and never error: null on failure', async (t) => {
  const rs = new ResponseStream('resp_4', 'a/b');
  t.same(rs.envelope('in_progress').output, []);
  const text = rs.failed({ message: 'x', type: 'server_error', param: null, code: 'worker_lost' });
  t.notMatch(text, /"error":null/);
});
