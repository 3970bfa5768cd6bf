// Bounded input at a real ingress: every over-limit body gets its 400 (or 413) in the OpenAI shape,
// naming the field and the setting, before any upstream sees it (the ingress checks every field but
// `input`; a worker checks the input, against the bounds of the ingress it came through); a late Codex session
// (2 MB, 2,000 items) is far inside every bound. Ingress 0 runs the defaults, ingress 1 small
// settings (the ROUTERHUB_MAX_* variables are read).
import t, { type Test } from 'tap';
import { codexRequest } from '../../libs/providers/replay';
import { postResponses, startTestCluster, terminals, type TestCluster } from '../../libs/testing/cluster';

const MODEL = 'test/model';
let tc: TestCluster;
let defaults: string;
let small: string;

t.before(async () => {
  tc = await startTestCluster(() => [{ id: MODEL, deployments: [{ provider: 'openai-responses' }] }], {
    ingresses: 2,
    ingressEnv: [{}, {
      ROUTERHUB_MAX_JSON_DEPTH: '6', ROUTERHUB_MAX_TOOL_SCHEMA_DEPTH: '3', ROUTERHUB_MAX_INPUT_ITEMS: '5',
      ROUTERHUB_MAX_TOOLS: '2', ROUTERHUB_MAX_STRING_LENGTH: '100', ROUTERHUB_MAX_BODY_BYTES: String(64 * 1024),
    }],
  });
  [defaults, small] = tc.cluster.ingresses.map((i) => i.baseUrl);
});
t.teardown(() => tc.stop());
t.beforeEach(() => tc.mock.reset());

/** JSON text of `levels` arrays nested in each other. */
const nested = (levels: number) => '['.repeat(levels) + '1' + ']'.repeat(levels);
/** A streaming request's JSON text with `field` set to the raw JSON `value`. */
const withField = (field: string, value: string, base: object = { model: MODEL, stream: true, input: 'hi' }) =>
  `${JSON.stringify(base).slice(0, -1)},${JSON.stringify(field)}:${value}}`;

interface Refusal { status: number; code: string; param: string | null; message: RegExp }

async function refused(t: Test, url: string, body: string, want: Refusal, name: string): Promise<void> {
  const r = await postResponses(url, tc.key, body);
  t.equal(r.status, want.status, `${name}: ${want.status}${r.status === want.status ? '' : ` (${r.raw.slice(0, 300)})`}`);
  const error = (r.json?.error ?? {}) as Record<string, unknown>;
  t.same(Object.keys(error).sort(), ['code', 'message', 'param', 'type'], `${name}: OpenAI error shape`);
  t.match(error, { type: 'invalid_request_error', code: want.code, param: want.param, message: want.message }, name);
}

t.test('deep nesting in every forwarded field: 400 nested_too_deep, never a 5xx, never a worker', async (t) => {
  const deep = nested(4000);
  const cases: Array<[string, string, string]> = [
    ['message content', withField('input', `[{"type":"message","role":"user","content":[{"type":"input_text","text":"x","x":${deep}}]}]`, { model: MODEL, stream: true }), 'input'],
    ['tool output', withField('input', `[{"type":"function_call_output","call_id":"c","output":[{"type":"input_text","text":"x","extra":${deep}}]}]`, { model: MODEL, stream: true }), 'input'],
    ['function call arguments (JSON in a string)', withField('input', JSON.stringify([{ type: 'function_call', call_id: 'c', name: 'f', arguments: `{"a":${deep}}` }, { type: 'function_call_output', call_id: 'c', output: 'ok' }]), { model: MODEL, stream: true }), 'input[0].arguments'],
    ['tools[0].parameters', withField('tools', `[{"type":"function","name":"f","parameters":{"x":${deep}}}]`), 'tools[0].parameters'],
    ['namespaced tool schema', withField('tools', `[{"type":"namespace","name":"n","tools":[{"type":"function","name":"f","parameters":${deep}}]}]`), 'tools[0].tools[0].parameters'],
    ['custom tool format', withField('tools', `[{"type":"custom","name":"p","format":${deep}}]`), 'tools'],
    ['text', withField('text', `{"format":{"type":"json_schema","schema":${deep}}}`), 'text'],
    ['metadata', withField('metadata', `{"a":${deep}}`), 'metadata'],
    ['client_metadata', withField('client_metadata', `{"a":${deep}}`), 'client_metadata'],
    ['tool_choice', withField('tool_choice', `{"type":"function","x":${deep}}`), 'tool_choice'],
    ['reasoning', withField('reasoning', `{"x":${deep}}`), 'reasoning'],
    ['an unknown field', withField('extra', deep), 'extra'],
  ];
  for (const [name, body, param] of cases) {
    const schema = param.endsWith('parameters');
    await refused(t, defaults, body, {
      status: 400, code: 'nested_too_deep', param,
      message: schema ? /at most 32 levels .*ROUTERHUB_MAX_TOOL_SCHEMA_DEPTH/ : /at most 64 levels .*ROUTERHUB_MAX_JSON_DEPTH/,
    }, name);
  }
  // 100k levels: JSON.parse copes (iteratively), the bound refuses; unclosed, it is not JSON.
  await refused(t, defaults, withField('metadata', `{"a":${nested(100_000)}}`), { status: 400, code: 'nested_too_deep', param: 'metadata', message: /nested too deeply/ }, '100k levels');
  await refused(t, defaults, '['.repeat(100_000), { status: 400, code: 'invalid_json', param: null, message: /not valid JSON/ }, '100k unclosed [');
  t.equal(tc.mock.requests.length, 0, 'no refused body reached the upstream');
});

t.test('the default bounds on counts and strings', async (t) => {
  const items = Array.from({ length: 20_001 }, () => ({ role: 'user', content: 'x' }));
  await refused(t, defaults, JSON.stringify({ model: MODEL, stream: true, input: items }), {
    status: 400, code: 'array_above_max_length', param: 'input', message: /^Invalid 'input': array too long\. Expected at most 20000 input items, but got 20001 .*ROUTERHUB_MAX_INPUT_ITEMS/,
  }, '20,001 input items');
  const tools = Array.from({ length: 513 }, (_, i) => ({ type: 'function', name: `f${i}`, parameters: { type: 'object' } }));
  await refused(t, defaults, JSON.stringify({ model: MODEL, stream: true, input: 'hi', tools }), {
    status: 400, code: 'array_above_max_length', param: 'tools', message: /at most 512 tools .*got 513 .*ROUTERHUB_MAX_TOOLS/,
  }, '513 tools');
  const long = 4 * 1024 * 1024 + 1;
  await refused(t, defaults, JSON.stringify({ model: MODEL, stream: true, input: [{ type: 'function_call_output', call_id: 'c', output: 'x'.repeat(long) }] }), {
    status: 400, code: 'string_above_max_length', param: 'input[0].output', message: new RegExp(`maximum length 4194304, but got a string with length ${long} .*ROUTERHUB_MAX_STRING_LENGTH`),
  }, 'a 4 MiB + 1 string');
  t.equal(tc.mock.requests.length, 0, 'no refused body reached the upstream');
});

t.test('each ROUTERHUB_MAX_* setting is read by the ingress', async (t) => {
  const base = { model: MODEL, stream: true, input: 'hi' };
  await refused(t, small, withField('metadata', `{"a":${nested(6)}}`), { status: 400, code: 'nested_too_deep', param: 'metadata', message: /at most 6 levels/ }, 'ROUTERHUB_MAX_JSON_DEPTH=6');
  await refused(t, small, JSON.stringify({ ...base, tools: [{ type: 'function', name: 'f', parameters: { a: { b: { c: {} } } } }] }), { status: 400, code: 'nested_too_deep', param: 'tools[0].parameters', message: /at most 3 levels/ }, 'ROUTERHUB_MAX_TOOL_SCHEMA_DEPTH=3');
  await refused(t, small, JSON.stringify({ ...base, input: Array.from({ length: 6 }, () => ({ role: 'user', content: 'x' })) }), { status: 400, code: 'array_above_max_length', param: 'input', message: /at most 5 input items/ }, 'ROUTERHUB_MAX_INPUT_ITEMS=5');
  await refused(t, small, JSON.stringify({ ...base, tools: [{ type: 'web_search' }, { type: 'web_search' }, { type: 'web_search' }] }), { status: 400, code: 'array_above_max_length', param: 'tools', message: /at most 2 tools/ }, 'ROUTERHUB_MAX_TOOLS=2');
  await refused(t, small, JSON.stringify({ ...base, instructions: 'y'.repeat(101) }), { status: 400, code: 'string_above_max_length', param: 'instructions', message: /maximum length 100/ }, 'ROUTERHUB_MAX_STRING_LENGTH=100');
  await refused(t, small, JSON.stringify({ ...base, input: 'z'.repeat(64 * 1024) }), { status: 413, code: 'request_too_large', param: null, message: /65536 bytes/ }, 'ROUTERHUB_MAX_BODY_BYTES');
  tc.mock.script({ parts: [{ type: 'text', text: 'inside the bounds' }] });
  const ok = await postResponses(small, tc.key, { ...base, input: 'y'.repeat(100), metadata: { a: JSON.parse(nested(4)) } });
  t.equal(ok.status, 200, 'a body at the small bounds is served');
  t.equal(terminals(ok.events).at(-1)?.data.type, 'response.completed');
});

t.test('a late Codex session (2 MB, 2,000 input items) passes every default bound', async (t) => {
  const codex = codexRequest();
  const items: unknown[] = [];
  for (let i = 0; items.length < 2000; i++) {
    items.push({ type: 'function_call', id: `fc_${i}`, call_id: `call_${i}`, name: 'exec_command', arguments: JSON.stringify({ cmd: `rg -n needle src/${i}` }) });
    items.push({ type: 'function_call_output', id: `fco_${i}`, call_id: `call_${i}`, output: `Chunk ID: ${i}\nProcess exited with code 0\nOutput:\n${'match: some line of source code\n'.repeat(60)}` });
  }
  const body = JSON.stringify({ ...codex, model: MODEL, input: [...codex.input, ...items] });
  t.ok(body.length > 2_000_000 && body.length < 8 * 1024 * 1024, `the body is ${(body.length / 1e6).toFixed(1)} MB`);
  tc.mock.script({ parts: [{ type: 'text', text: 'read your whole session' }] });
  const r = await postResponses(defaults, tc.key, body, { headers: { 'user-agent': 'codex_exec/0.169.0' } });
  t.equal(r.status, 200, r.status === 200 ? '200' : r.raw.slice(0, 300));
  t.equal(terminals(r.events).at(-1)?.data.type, 'response.completed');
  t.equal((tc.mock.requests[0]?.body as { input?: unknown[] } | undefined)?.input?.length, codex.input.length + 2000, 'every item reached the upstream');
});
