// Open Responses conformance through the real cluster: every event and every Response object that
// each provider family produces (text, function calls, reasoning, incomplete, failed; streamed and
// not) validates against the specification (libs/protocol/spec/openresponses.json, ajv 2020-12).
import t, { type Test } from 'tap';
import type { MockTurn } from '../../libs/providers/mock/script';
import { everyFamily, familyCatalog, postResponses, startTestCluster, terminals, type ClientResult, type TestCluster } from '../../libs/testing/cluster';
import { OpenResponsesSpec } from '../../libs/testing/openresponses';

const FAMILIES = everyFamily('spec');

const spec = new OpenResponsesSpec();
let tc: TestCluster;

t.before(async () => {
  tc = await startTestCluster((url) => familyCatalog(url, FAMILIES));
});
t.teardown(() => tc.stop());
t.beforeEach(() => tc.mock.reset());

const TOOLS = [
  { type: 'function', name: 'get_weather', description: 'Weather for a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] }, strict: false },
];

/** Settings a client may send: each must come back in every Response object. */
const SETTINGS = {
  instructions: 'Answer briefly.',
  temperature: 0.4,
  top_p: 0.9,
  max_output_tokens: 500,
  parallel_tool_calls: false,
  tool_choice: 'auto',
  metadata: { suite: 'conformance' },
  prompt_cache_key: 'spec-cache-key',
  safety_identifier: 'user-42',
  text: { format: { type: 'text' }, verbosity: 'low' },
} as const;

const SCENARIOS: Array<{ name: string; turn: MockTurn; terminal: string; reasoning?: boolean }> = [
  { name: 'text', turn: { parts: [{ type: 'text', text: 'Sunny, 21 degrees.' }], usage: { input: 40, cached: 10, output: 6 } }, terminal: 'response.completed' },
  {
    name: 'function calls',
    turn: { parts: [{ type: 'function_call', name: 'get_weather', arguments: '{"city":"Paris"}', call_id: 'call_a' }, { type: 'function_call', name: 'get_weather', arguments: '{"city":"Oslo"}', call_id: 'call_b' }] },
    terminal: 'response.completed',
  },
  {
    name: 'reasoning, then text',
    turn: { parts: [{ type: 'reasoning', text: 'The user wants the weather.', signature: 'sig-spec' }, { type: 'text', text: 'It rains.' }], usage: { input: 30, output: 20, reasoning: 12 } },
    terminal: 'response.completed',
    reasoning: true,
  },
  { name: 'incomplete (output limit)', turn: { parts: [{ type: 'text', text: 'Cut sh' }], stop: 'max_tokens' }, terminal: 'response.incomplete' },
  { name: 'incomplete (content filter)', turn: { parts: [{ type: 'text', text: 'No.' }], stop: 'content_filter' }, terminal: 'response.incomplete' },
  { name: 'failed mid-stream', turn: { parts: [{ type: 'text', text: 'partial' }, { type: 'text', text: 'never' }], streamError: { afterParts: 1, message: 'Internal failure' } }, terminal: 'response.failed' },
];

function ask(model: string, turn: MockTurn, stream: boolean, reasoning = false): Promise<ClientResult> {
  tc.mock.script(turn);
  return postResponses(tc.cluster.baseUrl, tc.key, {
    model, stream, input: [{ type: 'message', role: 'user', content: 'Weather in Paris?' }], tools: TOOLS, ...SETTINGS,
    ...(reasoning ? { reasoning: { effort: 'medium', summary: 'auto' } } : {}),
  });
}

function conformsResponse(t: Test, where: string, response: unknown): void {
  const v = spec.checkResponse(response);
  t.ok(v.ok, `${where}: a valid ResponseResource`, { errors: v.errors });
  t.match(response, { ...SETTINGS, tools: [{ ...TOOLS[0] }] }, `${where}: the request's settings`);
}

t.test(`the specification is the vendored ${spec.version}, with ${spec.eventSchemas.size} event types`, async (t) => {
  t.equal(spec.version, '2026-04-24');
  t.ok(spec.eventSchemas.has('response.output_text.delta') && spec.eventSchemas.has('error'));
});

for (const f of FAMILIES) {
  for (const s of SCENARIOS) {
    t.test(`${f.family}: ${s.name}: every event conforms`, async (t) => {
      const r = await ask(f.model, s.turn, true, s.reasoning);
      t.equal(r.status, 200);
      t.ok(r.events.length > 3);
      for (const e of r.events) {
        const v = spec.checkEvent(e.data);
        t.ok(v.ok, `${e.data.type} #${String(e.data.sequence_number)}`, { errors: v.errors, event: e.data });
        t.equal(e.event, e.data.type, 'the SSE event name is the type');
      }
      t.same(r.events.map((e) => e.data.sequence_number), r.events.map((_, i) => i), 'sequence numbers count from 0');
      t.same(r.events.slice(0, 2).map((e) => e.data.type), ['response.created', 'response.in_progress']);
      const ends = terminals(r.events);
      t.same(ends.map((e) => e.data.type), [s.terminal]);
      for (const e of r.events.filter((x) => 'response' in x.data)) conformsResponse(t, e.data.type, e.data.response);
      const final = ends[0].data.response as Record<string, unknown>;
      if (s.terminal === 'response.completed') t.type(final.completed_at, 'number', 'completed_at once completed');
      else t.equal(final.completed_at, null);
      t.equal((r.events[0].data.response as Record<string, unknown>).completed_at, null);
      if (s.reasoning) t.match(final.reasoning, { effort: 'medium', summary: 'auto' });
    });

    t.test(`${f.family}: ${s.name}: the non-streaming Response object conforms`, async (t) => {
      const r = await ask(f.model, s.turn, false, s.reasoning);
      if (s.terminal === 'response.failed') {
        // A failure before anything was streamed is an HTTP error, in OpenAI's error shape.
        t.ok(r.status >= 400, `status ${r.status}`);
        t.match(r.json, { error: { message: /.+/, type: /.+/ } });
        return;
      }
      t.equal(r.status, 200);
      conformsResponse(t, 'body', r.json);
      t.equal(r.json!.status, s.terminal.slice('response.'.length));
    });
  }
}

t.test('openai-responses: the upstream\'s own settings replace the request\'s in every Response object', async (t) => {
  const upstream = { service_tier: 'flex', top_p: 0.98, store: true, reasoning: { effort: 'low', summary: 'detailed' }, billing: { payer: 'developer' } };
  const r = await ask('spec/responses', { parts: [{ type: 'text', text: 'ok' }], responseFields: upstream }, true);
  const lifecycle = r.events.filter((e) => 'response' in e.data).map((e) => e.data.response as Record<string, unknown>);
  t.equal(lifecycle.length, 3);
  for (const resp of lifecycle) {
    t.match(resp, { service_tier: 'flex', top_p: 0.98, store: true, reasoning: { effort: 'low', summary: 'detailed' }, temperature: SETTINGS.temperature, instructions: SETTINGS.instructions });
    t.notOk('billing' in resp, 'only the spec\'s settings are taken from the upstream');
    t.ok(spec.checkResponse(resp).ok, spec.checkResponse(resp).errors);
  }
  const body = await ask('spec/responses', { parts: [{ type: 'text', text: 'ok' }], responseFields: upstream }, false);
  t.match(body.json, { service_tier: 'flex', top_p: 0.98 });
});

t.test('a request with nothing but model and input gets the API defaults', async (t) => {
  tc.mock.script({ parts: [{ type: 'text', text: 'hi' }] });
  const r = await postResponses(tc.cluster.baseUrl, tc.key, { model: 'spec/anthropic', input: 'hi' });
  t.equal(r.status, 200);
  t.ok(spec.checkResponse(r.json).ok, spec.checkResponse(r.json).errors);
  t.match(r.json, {
    instructions: null, tools: [], tool_choice: 'auto', parallel_tool_calls: true, truncation: 'disabled', text: { format: { type: 'text' } },
    temperature: 1, top_p: 1, presence_penalty: 0, frequency_penalty: 0, top_logprobs: 0, reasoning: null, max_output_tokens: null, max_tool_calls: null,
    store: false, background: false, service_tier: 'default', previous_response_id: null, prompt_cache_key: null, safety_identifier: null, metadata: {},
  });
});
