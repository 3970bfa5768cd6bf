import t from 'tap';
import { checkedInputLimits, checkInputBounds, DEFAULT_INPUT_LIMITS, jsonTextDepth, type InputLimits } from './bounds';
import { HttpError } from './errors';
import { parseRequest } from './validate';
import { codexRequest } from '../providers/replay';

/** JSON text of `levels` arrays nested in each other around `leaf` (`levels` deep; 0 is the leaf). */
function nested(levels: number, leaf = '1'): string {
  return '['.repeat(levels) + leaf + ']'.repeat(levels);
}

/** The body's JSON text with `field` set to the raw JSON `value` (deep values cannot go through JSON.stringify). */
function withField(field: string, value: string, base: object = { model: 'a/b', input: 'hi' }): string {
  return `${JSON.stringify(base).slice(0, -1)},${JSON.stringify(field)}:${value}}`;
}

function rejects(body: string, limits?: InputLimits): HttpError {
  try {
    parseRequest(body, limits);
  } catch (err) {
    if (err instanceof HttpError) return err;
    throw err;
  }
  throw new Error('accepted');
}

t.test('what Codex sends is far inside every bound', async (t) => {
  const req = codexRequest();
  t.doesNotThrow(() => checkInputBounds(req, DEFAULT_INPUT_LIMITS));
  // A late session: 2,000 history items and a tool output of 500 KB.
  const history = Array.from({ length: 2000 }, (_, i) => ({ type: 'function_call_output', call_id: `c${i}`, output: i === 7 ? 'x'.repeat(500_000) : 'ok' }));
  t.equal(parseRequest(JSON.stringify({ ...req, input: [...req.input, ...history] })).input.length, req.input.length + 2000);
});

t.test('nesting: exactly the bound passes, one level more is a 400 naming the field', async (t) => {
  // `metadata` is an object: 1 level, plus the array inside it.
  const meta = (levels: number) => `{"k":${nested(levels - 1)}}`;
  t.doesNotThrow(() => parseRequest(withField('metadata', meta(64))));
  t.match(rejects(withField('metadata', meta(65))), {
    status: 400, type: 'invalid_request_error', code: 'nested_too_deep', param: 'metadata',
    message: /^Invalid 'metadata': nested too deeply\. Expected at most 64 levels .* 'metadata\.k\[0\]\[0\]/,
  });
  t.match(rejects(withField('metadata', meta(65))).message, /ROUTERHUB_MAX_JSON_DEPTH/);
});

t.test('every forwarded field is bounded, however deep the body goes', async (t) => {
  const deep = nested(4000);
  const cases: Array<[string, string, string]> = [
    ['input (message content)', withField('input', `[{"type":"message","role":"user","content":[{"type":"input_text","text":"x","extra":${deep}}]}]`, { model: 'a/b' }), 'input'],
    ['input (tool output)', withField('input', `[{"type":"function_call_output","call_id":"c","output":[${deep}]}]`, { model: 'a/b' }), 'input'],
    ['text', withField('text', `{"format":{"type":"json_schema","schema":${deep}}}`), 'text'],
    ['metadata', withField('metadata', `{"a":${deep}}`), 'metadata'],
    ['client_metadata', withField('client_metadata', `{"a":${deep}}`), 'client_metadata'],
    ['tool_choice', withField('tool_choice', `{"type":"function","x":${deep}}`), 'tool_choice'],
    ['reasoning', withField('reasoning', `{"effort":"low","x":${deep}}`), 'reasoning'],
    ['a field RouterHub does not know', withField('unknown_field', deep), 'unknown_field'],
    ['a custom tool\'s format', withField('tools', `[{"type":"custom","name":"p","format":${deep}}]`), 'tools'],
  ];
  for (const [name, body, param] of cases) {
    t.match(rejects(body), { status: 400, code: 'nested_too_deep', param }, name);
  }
});

t.test("a call's arguments (JSON in a string, parsed by the Anthropic and Gemini mappers) are bounded too", async (t) => {
  const call = (args: string) => withField('input', JSON.stringify([{ type: 'function_call', call_id: 'c', name: 'f', arguments: args }, { type: 'function_call_output', call_id: 'c', output: 'ok' }]), { model: 'a/b' });
  t.doesNotThrow(() => parseRequest(call(`{"a":${nested(63)}}`)));
  t.match(rejects(call(`{"a":${nested(64)}}`)), { status: 400, code: 'nested_too_deep', param: 'input[0].arguments', message: /at most 64 levels/ });
  t.match(rejects(call(nested(100_000))), { code: 'nested_too_deep', param: 'input[0].arguments' });
  t.doesNotThrow(() => parseRequest(call(`{"cmd":"${'['.repeat(500)}"}`)), 'brackets inside a string do not count');
  t.doesNotThrow(() => parseRequest(call('{"a":[[[')), 'broken JSON is the mappers\' business (sent back without arguments)');
  t.equal(jsonTextDepth(String.raw`{"a":"\"[[{"}`, 10), 1, 'an escaped quote keeps the string open');
  t.equal(jsonTextDepth(String.raw`{"a":"\\","b":[[1]]}`, 10), 3, 'an escaped backslash does not');
  t.equal(jsonTextDepth('[[[[', 2), 3, 'stops counting past the bound');
});

t.test('a tool schema has its own, smaller bound, namespaced tools too', async (t) => {
  const fn = (schemaLevels: number) => `{"type":"function","name":"f","parameters":{"x":${nested(schemaLevels - 1)}}}`;
  t.doesNotThrow(() => parseRequest(withField('tools', `[${fn(32)}]`)));
  t.match(rejects(withField('tools', `[${fn(1)},${fn(33)}]`)), {
    status: 400, code: 'nested_too_deep', param: 'tools[1].parameters',
    message: /Expected at most 32 levels .*'tools\[1\]\.parameters\.x\[0\].*ROUTERHUB_MAX_TOOL_SCHEMA_DEPTH/,
  });
  t.match(rejects(withField('tools', `[{"type":"namespace","name":"ns","tools":[${fn(2)},${fn(4000)}]}]`)), { code: 'nested_too_deep', param: 'tools[0].tools[1].parameters' });
  // A body bound smaller than the schema bound stays the body's.
  const tight = { ...DEFAULT_INPUT_LIMITS, maxDepth: 5 };
  t.match(rejects(withField('tools', `[${fn(4)}]`), tight), { code: 'nested_too_deep', param: 'tools', message: /at most 5 levels.*ROUTERHUB_MAX_JSON_DEPTH/ });
});

t.test('100k levels of [ never escape as a RangeError', async (t) => {
  const levels = 100_000;
  t.match(rejects(withField('input', nested(levels), { model: 'a/b' })), { status: 400, code: 'invalid_type', param: 'input' }, 'as input: not items');
  t.match(rejects(withField('metadata', `{"a":${nested(levels)}}`)), { status: 400, code: 'nested_too_deep', param: 'metadata' });
  t.match(rejects(nested(levels)), { status: 400, code: 'invalid_type' }, 'as the whole body');
  t.match(rejects('['.repeat(levels)), { status: 400, code: 'invalid_json' }, 'unclosed');
  t.match(rejects(withField('metadata', '{"a":' + '{"b":'.repeat(levels) + '1' + '}'.repeat(levels + 1))), { status: 400, code: 'nested_too_deep', param: 'metadata' }, 'objects');
});

t.test('input items and tools are counted', async (t) => {
  const limits = { ...DEFAULT_INPUT_LIMITS, maxInputItems: 3, maxTools: 2 };
  const items = (n: number) => JSON.stringify(Array.from({ length: n }, () => ({ role: 'user', content: 'x' })));
  t.doesNotThrow(() => parseRequest(withField('input', items(3), { model: 'a/b' }), limits));
  t.match(rejects(withField('input', items(4), { model: 'a/b' }), limits), {
    status: 400, code: 'array_above_max_length', param: 'input',
    message: "Invalid 'input': array too long. Expected at most 3 input items, but got 4 instead. Send fewer (e.g. compact the conversation), or ask the operator to raise ROUTERHUB_MAX_INPUT_ITEMS.",
  });
  const fn = '{"type":"function","name":"f","parameters":{}}';
  t.doesNotThrow(() => parseRequest(withField('tools', `[${fn},${fn}]`), limits));
  t.match(rejects(withField('tools', `[${fn},{"type":"namespace","name":"n","tools":[${fn}]}]`), limits), {
    status: 400, code: 'array_above_max_length', param: 'tools', message: /at most 2 tools \(counting those inside namespaces\), but got 3 .*ROUTERHUB_MAX_TOOLS/,
  });
  t.equal(DEFAULT_INPUT_LIMITS.maxInputItems, 20_000);
  t.match(rejects(withField('input', items(20_001), { model: 'a/b' })), { code: 'array_above_max_length', param: 'input' }, 'the default');
});

t.test('a single string, or key, longer than the bound names its place', async (t) => {
  const limits = { ...DEFAULT_INPUT_LIMITS, maxStringLength: 10 };
  const body = (text: string) => JSON.stringify({ model: 'a/b', input: [{ role: 'user', content: [{ type: 'input_text', text }] }] });
  t.doesNotThrow(() => parseRequest(body('x'.repeat(10)), limits));
  t.match(rejects(body('x'.repeat(11)), limits), {
    status: 400, code: 'string_above_max_length', param: 'input[0].content[0].text',
    message: "Invalid 'input[0].content[0].text': string too long. Expected a string with maximum length 10, but got a string with length 11 instead. Shorten it, or ask the operator to raise ROUTERHUB_MAX_STRING_LENGTH.",
  });
  t.match(rejects(JSON.stringify({ model: 'a/b', input: 'x', metadata: { ['k'.repeat(11)]: 'v' } }), limits), { code: 'string_above_max_length', param: `metadata.${'k'.repeat(11)}`, message: /an object key/ });
  t.match(rejects(JSON.stringify({ model: 'a/b', input: 'x'.repeat(11) }), limits), { param: 'input' });
  t.match(rejects(JSON.stringify({ model: 'a/b', input: 'x', tools: [{ type: 'function', name: 'f', parameters: { description: 'y'.repeat(11) } }] }), limits), { param: 'tools[0].parameters.description' });
  t.match(rejects(JSON.stringify({ model: 'a/b', input: 'x'.repeat(DEFAULT_INPUT_LIMITS.maxStringLength + 1) })), { code: 'string_above_max_length' }, 'the default');
});

t.test('a setting that is not a positive integer stops the ingress at start, rather than switching its bound off', async (t) => {
  t.same(checkedInputLimits(DEFAULT_INPUT_LIMITS), DEFAULT_INPUT_LIMITS);
  t.throws(() => checkedInputLimits({ ...DEFAULT_INPUT_LIMITS, maxDepth: Number('64k') }), /ROUTERHUB_MAX_JSON_DEPTH must be a positive integer, not NaN/);
  t.throws(() => checkedInputLimits({ ...DEFAULT_INPUT_LIMITS, maxTools: 0 }), /ROUTERHUB_MAX_TOOLS/);
  t.throws(() => checkedInputLimits({ ...DEFAULT_INPUT_LIMITS, maxStringLength: 1.5 }), /ROUTERHUB_MAX_STRING_LENGTH/);
});
