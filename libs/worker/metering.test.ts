import t from 'tap';
import { OutputBuilder } from '../providers/output';
import type { Frame } from '../wire/frames';
import { estimateInputTokens, IMAGE_TOKENS, meter } from './metering';

const sink = { frames: [] as Frame[], push(f: Frame) { this.frames.push(f); } };
const usage = { input_tokens: 7, input_tokens_details: { cached_tokens: 1 }, output_tokens: 3, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 10 };

t.test('input estimate: text of instructions, input and tool definitions at ~4 characters per token', async (t) => {
  t.equal(estimateInputTokens({ model: 'm', input: 'x'.repeat(400) }), 100);
  t.equal(estimateInputTokens({ model: 'm', instructions: 'abcd', input: [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: 'efgh' }] }] }), Math.ceil('abcdmessageuserinput_textefgh'.length / 4), 'item types and roles count too (like a tokenizer\'s per-message overhead)');
  t.equal(estimateInputTokens({ model: 'm', input: [{ type: 'message', role: 'user', content: [{ type: 'input_image', image_url: `data:image/png;base64,${'A'.repeat(100_000)}` }] }] }), Math.ceil('messageuserinput_image'.length / 4) + IMAGE_TOKENS, 'an image counts as one image, not its base64 size');
  const tools = [{ type: 'function', name: 'run', parameters: { type: 'object', properties: { command: { type: 'string' } } } }];
  t.ok(estimateInputTokens({ model: 'm', input: '', tools: tools as never }) > Math.ceil('functionrunobjectstring'.length / 4), 'schema property names count in tools');
});

t.test('input estimate: no nesting depth overflows it', async (t) => {
  let deep: unknown = 'leaf';
  for (let i = 0; i < 100_000; i++) deep = [deep];
  t.equal(estimateInputTokens({ model: 'm', input: deep as never }), 1);
});

t.test('meter: the provider usage, an estimate, or nothing', async (t) => {
  const completed = new OutputBuilder(sink, 'a_');
  completed.appendText(completed.startMessage(), 'hello');
  completed.completed(usage);
  t.same(meter({ inputTokens: 50, builder: completed }, false), { usage, estimated: false });

  const noUsage = new OutputBuilder(sink, 'b_');
  noUsage.appendText(noUsage.startMessage(), 'x'.repeat(9));
  noUsage.completed(null);
  t.match(meter({ inputTokens: 50, builder: noUsage }, false), { usage: { input_tokens: 50, output_tokens: 3 }, estimated: true });

  const failedAfterOutput = new OutputBuilder(sink, 'c_');
  failedAfterOutput.appendReasoning(failedAfterOutput.startReasoning(), 'think');
  failedAfterOutput.appendArguments(failedAfterOutput.startFunctionCall('c1', 'run'), '{"a":1}');
  failedAfterOutput.failed({ message: 'x', type: 'server_error', param: null, code: null }, 502, true);
  t.match(meter({ inputTokens: 5, builder: failedAfterOutput }, false), { usage: { input_tokens: 5, output_tokens: Math.ceil(12 / 4) }, estimated: true });

  const failedBeforeOutput = new OutputBuilder(sink, 'd_');
  failedBeforeOutput.failed({ message: 'x', type: 'server_error', param: null, code: null }, 503, true);
  t.equal(meter({ inputTokens: 5, builder: failedBeforeOutput }, false), null, 'a provider that failed before output is not billed');

  const stoppedThinking = new OutputBuilder(sink, 'e_');
  t.match(meter({ inputTokens: 5, builder: stoppedThinking }, true), { usage: { input_tokens: 5, output_tokens: 0 }, estimated: true }, 'stopped while the provider was thinking: its input');
});
