// The OpenAI Node SDK as a client of RouterHub, through every provider family: responses.create and
// responses.stream with the easy-input shape ({role, content}, no type) and with typed items, and a
// function-tool round trip. The mock upstream reports what reached it in its own wire format, so a
// prompt lost in translation fails here even though the SDK call succeeds.
import OpenAI from 'openai';
import type { ResponseInputItem } from 'openai/resources/responses/responses';
import t from 'tap';
import { mockWires } from '../../libs/providers/mock/index';
import type { MockTurn } from '../../libs/providers/mock/script';
import { everyFamily, familyCatalog, startTestCluster, type TestCluster } from '../../libs/testing/cluster';

const FAMILIES = everyFamily('sdk');

let tc: TestCluster;
let client: OpenAI;

t.before(async () => {
  tc = await startTestCluster((url) => familyCatalog(url, FAMILIES));
  client = new OpenAI({ apiKey: tc.key, baseURL: `${tc.cluster.baseUrl}/v1`, maxRetries: 0, timeout: 20_000 });
});
t.teardown(() => tc.stop());
t.beforeEach(() => tc.mock.reset());

const PROMPT = 'What is the capital of France?';
const ANSWER = 'Paris is the capital of France.';
const answer: MockTurn = { parts: [{ type: 'text', text: ANSWER }], usage: { input: 21, output: 7 } };

/** What the upstream's n-th request said, read in its own wire format. */
function upstreamView(n: number) {
  const req = tc.mock.requests[n];
  if (!req) throw new Error(`the upstream got ${tc.mock.requests.length} requests, not ${n + 1}`);
  return mockWires.find((w) => w.family === req.family)!.view(req.body);
}

const INPUTS: Array<{ shape: string; input: ResponseInputItem[] }> = [
  { shape: 'easy input {role, content}', input: [{ role: 'user', content: PROMPT }] },
  { shape: 'typed items', input: [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: PROMPT }] }] },
];

const WEATHER_TOOL = {
  type: 'function' as const,
  name: 'get_weather',
  description: 'Current weather for a city',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false },
  strict: true,
};

for (const f of FAMILIES) {
  for (const { shape, input } of INPUTS) {
    t.test(`${f.family}: responses.create with ${shape}`, async (t) => {
      tc.mock.script(answer);
      const r = await client.responses.create({ model: f.model, input, instructions: 'Be brief.', temperature: 0.2 });
      t.equal(r.object, 'response');
      t.equal(r.status, 'completed');
      t.equal(r.output_text, ANSWER, 'the SDK finds the answer in output');
      t.match(r.usage, { input_tokens: 21, output_tokens: 7, total_tokens: 28 });
      t.match(r, { instructions: 'Be brief.', temperature: 0.2, tools: [], tool_choice: 'auto', parallel_tool_calls: true, error: null, incomplete_details: null });
      t.type(r.completed_at, 'number');
      t.equal(upstreamView(0).lastUserText, PROMPT, 'the prompt reached the upstream');
    });

    t.test(`${f.family}: responses.stream with ${shape}`, async (t) => {
      tc.mock.script(answer);
      const stream = client.responses.stream({ model: f.model, input });
      const deltas: string[] = [];
      const types: string[] = [];
      stream.on('response.output_text.delta', (e) => deltas.push(e.delta));
      stream.on('event', (e) => types.push(e.type));
      const r = await stream.finalResponse();
      t.equal(deltas.join(''), ANSWER);
      t.equal(r.output_text, ANSWER);
      t.equal(r.status, 'completed');
      t.match(r.usage, { input_tokens: 21, output_tokens: 7, total_tokens: 28 });
      t.same([types[0], types[1], types.at(-1)], ['response.created', 'response.in_progress', 'response.completed']);
      t.equal(upstreamView(0).lastUserText, PROMPT, 'the prompt reached the upstream');
    });
  }

  t.test(`${f.family}: a function-tool round trip`, async (t) => {
    tc.mock.script(
      { parts: [{ type: 'function_call', name: 'get_weather', arguments: '{"city":"Paris"}', call_id: 'call_weather_1' }] },
      { parts: [{ type: 'text', text: 'It is 21 degrees and sunny in Paris.' }] },
    );
    const first = await client.responses.create({ model: f.model, input: [{ role: 'user', content: 'Weather in Paris?' }], tools: [WEATHER_TOOL] });
    t.match(first.tools, [{ type: 'function', name: 'get_weather', strict: true }]);
    const calls = first.output.filter((i) => i.type === 'function_call');
    t.equal(calls.length, 1);
    const call = calls[0];
    t.match(call, { type: 'function_call', name: 'get_weather', status: 'completed' });
    t.same(JSON.parse(call.arguments), { city: 'Paris' });
    t.ok(call.call_id, 'a call id to answer');
    t.same(upstreamView(0).tools, ['get_weather'], 'the tool reached the upstream');

    // The client runs the tool and answers with the conversation so far, streaming this time.
    const stream = client.responses.stream({
      model: f.model,
      tools: [WEATHER_TOOL],
      input: [
        { role: 'user', content: 'Weather in Paris?' },
        ...(first.output as ResponseInputItem[]),
        { type: 'function_call_output', call_id: call.call_id, output: '{"temperature_c":21,"sky":"sunny"}' },
      ],
    });
    const second = await stream.finalResponse();
    t.equal(second.output_text, 'It is 21 degrees and sunny in Paris.');
    t.same(upstreamView(1).toolResults, ['{"temperature_c":21,"sky":"sunny"}'], 'the tool output reached the upstream as the answer to the call');
  });
}

t.test('an input item a family cannot take is a 400 naming input[i] and the family; openai-responses forwards it', async (t) => {
  const input = [{ role: 'user', content: PROMPT }, { type: 'item_reference', id: 'msg_earlier' }] as ResponseInputItem[];
  for (const f of FAMILIES) {
    tc.mock.reset();
    if (f.family === 'openai-responses') {
      tc.mock.script(answer);
      const r = await client.responses.create({ model: f.model, input });
      t.equal(r.output_text, ANSWER, 'openai-responses: forwarded');
      t.match(tc.mock.requests[0].body.input, [{ role: 'user' }, { type: 'item_reference', id: 'msg_earlier' }]);
      continue;
    }
    const err = await client.responses.create({ model: f.model, input }).then(() => null, (e: unknown) => e);
    t.ok(err instanceof OpenAI.BadRequestError, `${f.family}: a 400`);
    const e = err as InstanceType<typeof OpenAI.BadRequestError>;
    t.match(e.error, { param: 'input[1]', code: 'unsupported_input', type: 'invalid_request_error', message: new RegExp(`'item_reference' item, which the ${f.family} family cannot take`) });
    t.equal(tc.mock.requests.length, 0, `${f.family}: nothing reached the upstream`);
  }
});
