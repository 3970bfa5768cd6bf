// The Vercel AI SDK (`ai` + `@ai-sdk/openai`, `openai.responses(model)`) as a client of RouterHub,
// through every provider family: generateText and streamText with a tool the SDK runs itself (two
// steps: the call, then the answer), with finishReason and usage as the SDK reports them. The SDK
// parses every event with its own schemas, so a malformed event fails these tests.
import { createOpenAI } from '@ai-sdk/openai';
import { generateText, stepCountIs, streamText, tool } from 'ai';
import t from 'tap';
import { z } from 'zod';
import { mockWires } from '../../libs/providers/mock/index';
import type { MockTurn } from '../../libs/providers/mock/script';
import { everyFamily, familyCatalog, startTestCluster, type TestCluster } from '../../libs/testing/cluster';

const FAMILIES = everyFamily('aisdk');

let tc: TestCluster;
let provider: ReturnType<typeof createOpenAI>;

t.before(async () => {
  tc = await startTestCluster((url) => familyCatalog(url, FAMILIES));
  provider = createOpenAI({ apiKey: tc.key, baseURL: `${tc.cluster.baseUrl}/v1` });
});
t.teardown(() => tc.stop());
t.beforeEach(() => tc.mock.reset());

const PROMPT = 'What is the weather in Paris?';
const FINAL = 'It is 21 degrees and sunny in Paris.';

const TURNS: MockTurn[] = [
  { parts: [{ type: 'function_call', name: 'get_weather', arguments: '{"city":"Paris"}', call_id: 'call_w1' }], usage: { input: 40, output: 9 } },
  { parts: [{ type: 'text', text: FINAL }], usage: { input: 60, cached: 32, output: 11 } },
];

function weatherTool(calls: string[]) {
  return tool({
    description: 'Current weather for a city',
    inputSchema: z.object({ city: z.string() }),
    execute: async ({ city }) => {
      calls.push(city);
      return { city, temperature_c: 21, sky: 'sunny' };
    },
  });
}

function upstreamView(n: number) {
  const req = tc.mock.requests[n];
  if (!req) throw new Error(`the upstream got ${tc.mock.requests.length} requests, not ${n + 1}`);
  return mockWires.find((w) => w.family === req.family)!.view(req.body);
}

for (const f of FAMILIES) {
  t.test(`${f.family}: generateText with a tool`, async (t) => {
    tc.mock.script(...TURNS);
    const calls: string[] = [];
    const r = await generateText({ model: provider.responses(f.model), prompt: PROMPT, tools: { get_weather: weatherTool(calls) }, stopWhen: stepCountIs(3), maxRetries: 0 });
    t.same(calls, ['Paris'], 'the SDK ran the tool with the model\'s arguments');
    t.equal(r.text, FINAL);
    t.equal(r.finishReason, 'stop');
    t.equal(r.steps.length, 2);
    t.equal(r.steps[0].finishReason, 'tool-calls');
    t.match(r.steps[0].toolCalls, [{ toolName: 'get_weather', input: { city: 'Paris' } }]);
    t.match(r.usage, { inputTokens: 60, outputTokens: 11, totalTokens: 71 }, 'the last step\'s usage');
    t.match(r.totalUsage, { inputTokens: 100, outputTokens: 20, totalTokens: 120 }, 'both steps');
    t.equal(r.response.modelId, f.model);
    t.equal(upstreamView(0).lastUserText, PROMPT, 'the prompt reached the upstream');
    t.same(upstreamView(1).toolResults.map((s) => JSON.parse(s)), [{ city: 'Paris', temperature_c: 21, sky: 'sunny' }], 'the tool result reached the upstream');
  });

  t.test(`${f.family}: streamText with a tool`, async (t) => {
    tc.mock.script(...TURNS);
    const calls: string[] = [];
    const errors: unknown[] = [];
    const r = streamText({ model: provider.responses(f.model), prompt: PROMPT, tools: { get_weather: weatherTool(calls) }, stopWhen: stepCountIs(3), maxRetries: 0, onError: ({ error }) => void errors.push(error) });
    let streamed = '';
    const parts = new Set<string>();
    for await (const part of r.fullStream) {
      parts.add(part.type);
      if (part.type === 'text-delta') streamed += part.text;
    }
    t.same(errors, [], 'no stream errors');
    t.same(calls, ['Paris']);
    t.equal(streamed, FINAL, 'the text arrived as deltas');
    t.equal(await r.text, FINAL);
    t.equal(await r.finishReason, 'stop');
    t.ok(parts.has('tool-call') && parts.has('tool-result') && parts.has('finish-step'), [...parts].join(', '));
    t.match(await r.usage, { inputTokens: 60, outputTokens: 11, totalTokens: 71 });
    t.match(await r.totalUsage, { inputTokens: 100, outputTokens: 20, totalTokens: 120 });
    t.equal(upstreamView(0).lastUserText, PROMPT, 'the prompt reached the upstream');
  });
}

// A PDF as the AI SDK sends it (an `input_file` with a data URL and a file name) reaches every
// family in that family's own form.
const PDF_BYTES = Buffer.from('%PDF-1.4\n%RouterHub test\n');
const PDF_IN_UPSTREAM: Record<string, (body: Record<string, any>) => unknown> = {
  'openai-responses': (b) => b.input[0].content.find((p: { type: string }) => p.type === 'input_file'),
  anthropic: (b) => b.messages[0].content.find((p: { type: string }) => p.type === 'document'),
  gemini: (b) => b.contents[0].parts.find((p: Record<string, unknown>) => 'inlineData' in p),
  'openai-chat': (b) => b.messages.find((m: { role: string }) => m.role === 'user').content.find((p: { type: string }) => p.type === 'file'),
};
const PDF_EXPECTED: Record<string, unknown> = {
  'openai-responses': { type: 'input_file', file_data: `data:application/pdf;base64,${PDF_BYTES.toString('base64')}` },
  anthropic: { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: PDF_BYTES.toString('base64') } },
  gemini: { inlineData: { mimeType: 'application/pdf', data: PDF_BYTES.toString('base64') } },
  'openai-chat': { type: 'file', file: { file_data: `data:application/pdf;base64,${PDF_BYTES.toString('base64')}` } },
};

for (const f of FAMILIES) {
  t.test(`${f.family}: a PDF file part reaches the upstream`, async (t) => {
    tc.mock.script({ parts: [{ type: 'text', text: 'A test PDF.' }] });
    const r = await generateText({
      model: provider.responses(f.model),
      maxRetries: 0,
      messages: [{ role: 'user', content: [{ type: 'text', text: 'What is this?' }, { type: 'file', data: PDF_BYTES, mediaType: 'application/pdf', filename: 'test.pdf' }] }],
    });
    t.equal(r.text, 'A test PDF.');
    t.match(PDF_IN_UPSTREAM[f.family](tc.mock.requests[0].body), PDF_EXPECTED[f.family]);
    t.equal(upstreamView(0).lastUserText, 'What is this?');
  });
}
