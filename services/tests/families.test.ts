// Every provider family through the real cluster: the same scripted scenarios, rendered by the mock
// upstream in each family's wire format, must reach the client as the same Responses stream.
import t from 'tap';
import type { MockTurn } from '../../libs/providers/mock/script';
import { everyFamily, postResponses, startTestCluster, terminals, type SseEvent, type TestCluster } from '../../libs/testing/cluster';

const FAMILIES = everyFamily('fam').map((f) => ({ ...f, overload: f.family === 'anthropic' ? 529 : 503 }));

let tc: TestCluster;

t.before(async () => {
  tc = await startTestCluster((url) => FAMILIES.map((f) => ({
    id: f.model,
    deployments: [{ provider: f.family, base_url: `${url}${f.base}` }, { provider: f.family, base_url: `${url}/backup${f.base}` }],
  })));
});
t.teardown(() => tc.stop());
t.beforeEach(() => tc.mock.reset());

const TOOLS = [
  { type: 'function', name: 'exec_command', parameters: { type: 'object', properties: { cmd: { type: 'string' } }, required: ['cmd'], additionalProperties: false } },
  { type: 'custom', name: 'apply_patch', format: { type: 'grammar', syntax: 'lark', definition: 'start: /.+/' } },
];

function ask(model: string, ...turns: MockTurn[]) {
  tc.mock.script(...turns);
  return postResponses(tc.cluster.baseUrl, tc.key, { model, stream: true, input: 'go', tools: TOOLS, reasoning: { effort: 'medium', summary: 'auto' } });
}

const done = (events: SseEvent[]) => events.filter((e) => e.data.type === 'response.output_item.done').map((e) => e.data.item as Record<string, unknown>);
const end = (events: SseEvent[]) => {
  const ends = terminals(events);
  if (ends.length !== 1) throw new Error(`${ends.length} terminal events`);
  return ends[0].data;
};

for (const f of FAMILIES) {
  t.test(`${f.family}: text, with the provider's usage in Responses terms`, async (t) => {
    const r = await ask(f.model, { parts: [{ type: 'text', text: 'Hello from the other side.' }], usage: { input: 900, cached: 300, output: 12, reasoning: 0 } });
    t.equal(r.status, 200);
    const e = end(r.events);
    t.equal(e.type, 'response.completed');
    t.match(done(r.events)[0], { type: 'message', content: [{ type: 'output_text', text: 'Hello from the other side.' }] });
    const text = r.events.filter((x) => x.data.type === 'response.output_text.delta').map((x) => x.data.delta).join('');
    t.equal(text, 'Hello from the other side.');
    t.match((e.response as { usage: unknown }).usage, { input_tokens: 900, input_tokens_details: { cached_tokens: 300 }, output_tokens: 12, total_tokens: 912 });
  });

  t.test(`${f.family}: parallel tool calls, each complete with its own call_id`, async (t) => {
    const r = await ask(f.model, {
      parts: [
        { type: 'function_call', name: 'exec_command', arguments: '{"cmd":"ls"}', call_id: 'call_one' },
        { type: 'function_call', name: 'exec_command', arguments: '{"cmd":"pwd"}', call_id: 'call_two' },
        { type: 'custom_tool_call', name: 'apply_patch', input: '*** Begin Patch\n*** End Patch\n', call_id: 'call_three' },
      ],
    });
    t.equal(end(r.events).type, 'response.completed');
    const items = done(r.events);
    t.equal(items.length, 3);
    t.same(items.slice(0, 2).map((i) => [i.type, i.name, JSON.parse(i.arguments as string)]), [['function_call', 'exec_command', { cmd: 'ls' }], ['function_call', 'exec_command', { cmd: 'pwd' }]]);
    t.match(items[2], { type: 'custom_tool_call', name: 'apply_patch', input: '*** Begin Patch\n*** End Patch\n' });
    t.equal(new Set(items.map((i) => i.call_id)).size, 3, 'distinct call ids');
  });

  t.test(`${f.family}: thinking, then a tool call`, async (t) => {
    const r = await ask(f.model, {
      parts: [{ type: 'reasoning', text: 'I should list the files first.', signature: 'sig-1' }, { type: 'function_call', name: 'exec_command', arguments: '{"cmd":"ls -la"}' }],
      usage: { input: 50, output: 40, reasoning: 25 },
    });
    const items = done(r.events);
    t.same(items.map((i) => i.type), ['reasoning', 'function_call']);
    t.match(items[0], { summary: [{ type: 'summary_text', text: 'I should list the files first.' }] });
    t.type(items[0].encrypted_content, 'string', 'provider state kept for the next turn');
    t.ok(r.events.some((e) => e.data.type === 'response.reasoning_summary_text.delta'));
    t.equal(end(r.events).type, 'response.completed');
    t.equal(((end(r.events).response as { usage: { output_tokens_details: { reasoning_tokens: number } } }).usage.output_tokens_details.reasoning_tokens), 25);
  });

  t.test(`${f.family}: the output limit ends in response.incomplete`, async (t) => {
    const r = await ask(f.model, { parts: [{ type: 'text', text: 'cut short' }], stop: 'max_tokens' });
    t.match(end(r.events), { type: 'response.incomplete', response: { status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' } } });
  });

  t.test(`${f.family}: a content filter ends in response.incomplete`, async (t) => {
    const r = await ask(f.model, { parts: [{ type: 'text', text: 'no' }], stop: 'content_filter' });
    t.match(end(r.events), { type: 'response.incomplete', response: { incomplete_details: { reason: 'content_filter' } } });
  });

  t.test(`${f.family}: an overloaded deployment fails over; all overloaded is a 503 before streaming`, async (t) => {
    const over = { parts: [], httpError: { status: f.overload, message: 'Overloaded' } };
    const r = await ask(f.model, over, { parts: [{ type: 'text', text: 'from the backup' }] });
    t.equal(end(r.events).type, 'response.completed');
    t.equal(tc.mock.requests.length, 2);
    t.match(tc.mock.requests[1].path, /^\/backup\//);
    tc.mock.reset();
    const both = await ask(f.model, over, over);
    t.equal(both.status, 503);
    t.match(both.json, { error: { code: 'server_is_overloaded', message: /retry/i } });
  });

  t.test(`${f.family}: a rate limit on every deployment is a 429 with Retry-After`, async (t) => {
    const limited = { parts: [], httpError: { status: 429, message: 'Slow down', retryAfter: 4 } };
    const r = await ask(f.model, limited, limited);
    t.equal(r.status, 429);
    t.equal(r.headers.get('retry-after'), '4');
    t.match(r.json, { error: { code: 'rate_limit_exceeded', message: /try again in 4s/ } });
  });

  t.test(`${f.family}: an error in the middle of the stream ends in response.failed`, async (t) => {
    const r = await ask(f.model, { parts: [{ type: 'text', text: 'partial answer' }, { type: 'text', text: 'never sent' }], streamError: { afterParts: 1, message: 'Internal failure' } });
    t.equal(r.status, 200);
    const e = end(r.events);
    t.equal(e.type, 'response.failed');
    t.match(e.response, { status: 'failed', error: { message: /.+/ } });
    t.ok(r.events.some((x) => x.data.type === 'response.output_text.delta'), 'the partial output reached the client');
    t.equal(tc.mock.requests.length, 1, 'no failover after output');
  });
}
