import t from 'tap';
import { HttpError } from './errors';
import { DEFAULT_INPUT_LIMITS } from './bounds';
import { ResponseSettings } from './envelope';
import { parseRequest, readRequestHead } from './validate';
import type { ResponsesRequest } from './types';
import { codexRequest } from '../providers/replay';

function rejects(body: string | object): HttpError {
  try {
    parseRequest(typeof body === 'string' ? body : JSON.stringify(body));
  } catch (err) {
    return err as HttpError;
  }
  throw new Error('accepted');
}

function headRejects(text: string, limits = DEFAULT_INPUT_LIMITS): HttpError {
  try {
    readRequestHead(Buffer.from(text), limits);
  } catch (err) {
    return err as HttpError;
  }
  throw new Error('accepted');
}

t.test('accepts what Codex sends, including every item and tool type', async (t) => {
  const req = codexRequest();
  t.equal(parseRequest(JSON.stringify(req)).model, req.model);
  const history = {
    model: 'a/b',
    input: [
      { type: 'reasoning', id: 'rs_1', summary: [], content: null, encrypted_content: 'x' },
      { type: 'function_call', id: 'fc_1', call_id: 'c', name: 'exec_command', arguments: '{}' },
      { type: 'function_call_output', id: 'fco_1', call_id: 'c', output: [{ type: 'input_image', image_url: 'data:' }] },
      { type: 'custom_tool_call', call_id: 'd', name: 'apply_patch', input: '*** Begin Patch' },
      { type: 'custom_tool_call_output', call_id: 'd', output: 'ok' },
      { type: 'local_shell_call', call_id: 'e', action: {} },
      { role: 'user', content: 'an easy input message without type' },
    ],
    tools: [{ type: 'namespace', name: 'ns', tools: [] }, { type: 'tool_search', execution: 'client' }, { type: 'web_search' }],
  };
  t.equal(parseRequest(JSON.stringify(history)).input.length, 7);
});

t.test('names the field and says what is wrong', async (t) => {
  t.match(rejects('{"model":'), { status: 400, code: 'invalid_json' });
  t.match(rejects({ input: 'x' }), { status: 400, code: 'missing_required_parameter', param: 'model', message: "Missing required parameter: 'model'." });
  t.match(rejects({ model: 'a/b' }), { param: 'input' });
  t.match(rejects({ model: 'a/b', input: 3 }), { param: 'input', message: /string or an array/ });
  t.match(rejects({ model: 'a/b', input: 'x', temperature: 9 }), { param: 'temperature', message: /<= 2/ });
  t.match(rejects({ model: 'a/b', input: [{ type: 'message', role: 'robot', content: 'x' }] }), { param: 'input[0].role' });
  t.match(rejects({ model: 'a/b', input: [{ type: 'message', role: 'user', content: 'ok' }, { content: 'who says this?' }] }), { param: 'input[1]', message: /"type", or a message with "role" and "content"/ });
  t.match(rejects({ model: 'a/b', input: [{ role: 'user' }] }), { param: 'input[0]' });
  t.match(rejects({ model: 'a/b', input: 'x', tools: [{ name: 'no type' }] }), { param: 'tools[0].type' });
  t.match(rejects({ model: 'a/b', input: 'x', tool_choice: 'sometimes' }), { param: 'tool_choice' });
  t.match(rejects([]), { status: 400 });
});

t.test('a content part or tool-output part that is not a typed object is refused, not passed to a provider translation', async (t) => {
  for (const bad of ['', 'x', null, 3, [], { text: 'no type' }]) {
    t.match(rejects({ model: 'a/b', input: [{ type: 'message', role: 'user', content: [bad] }] }), { status: 400, param: /^input\[0\]\.content\[0\]/ }, `content part ${JSON.stringify(bad)}`);
    t.match(rejects({ model: 'a/b', input: [{ type: 'function_call_output', call_id: 'c', output: [bad] }] }), { status: 400, param: /^input\[0\]\.output\[0\]/ }, `output part ${JSON.stringify(bad)}`);
  }
});

t.test('an item without the fields its type needs is refused, naming the field', async (t) => {
  const cases: Array<[string, unknown, string]> = [
    ['a message without content', { type: 'message', role: 'user' }, 'input[0].content'],
    ['a message without a role', { type: 'message', content: 'x' }, 'input[0].role'],
    ['a function_call_output without output', { type: 'function_call_output', call_id: 'c' }, 'input[0].output'],
    ['a custom_tool_call_output without call_id', { type: 'custom_tool_call_output', output: 'x' }, 'input[0].call_id'],
    ['a function_call without arguments', { type: 'function_call', call_id: 'c', name: 'f' }, 'input[0].arguments'],
    ['a custom_tool_call without input', { type: 'custom_tool_call', call_id: 'c', name: 'apply_patch' }, 'input[0].input'],
  ];
  for (const [name, item, param] of cases) {
    t.match(rejects({ model: 'a/b', input: [item] }), { status: 400, code: 'missing_required_parameter', param, message: `Missing required parameter: '${param}'.` }, name);
  }
  t.match(rejects({ model: 'a/b', input: [{ role: 'user' }] }), { status: 400, param: 'input[0]', message: /expected an item with a "type", or a message with "role" and "content"/ }, 'an easy input message without content');
  t.match(rejects({ model: 'a/b', input: [{ type: 'message', role: 'user', content: null }] }), { status: 400, param: 'input[0].content' }, 'a message whose content is null');
  t.doesNotThrow(() => parseRequest(JSON.stringify({ model: 'a/b', input: [{ type: 'reasoning', id: 'rs', summary: [], content: null }] })), 'a reasoning item keeps content: null');
});

t.test('the ingress reads all but the input, as parseRequest would, and finds the items in the bytes', async (t) => {
  const codex = codexRequest();
  const session = { ...codex, input: [...codex.input, { type: 'reasoning', summary: [], encrypted_content: 'rhd1.abc.state' }, { type: 'message', role: 'user', content: 'caf\u00e9 \\"quoted\\"' }] };
  for (const [name, text] of [['Codex', JSON.stringify(codex)], ['a session', JSON.stringify(session, null, 2)]] as const) {
    const full = parseRequest(text);
    const head = readRequestHead(Buffer.from(text));
    const { input, ...rest } = full;
    t.same(head.request, rest, `${name}: every field but the input`);
    t.notOk('input' in head.request, `${name}: the input is not parsed`);
    const items = input as unknown[];
    t.equal(head.items.length, items.length);
    t.same(Array.from({ length: items.length }, (_, i) => head.items.at(i)), items, `${name}: each item, parsed when asked`);
    t.same(Array.from({ length: items.length }, (_, i) => head.items.member(i, 'type')), items.map((it) => (it as { type?: unknown }).type));
  }
  const last = session.input.length - 2;
  t.equal(readRequestHead(Buffer.from(JSON.stringify(session))).items.member(last, 'encrypted_content', 8), 'rhd1.abc', 'a string member cut short');
  // JSON.parse keeps the last of duplicate keys: so does the head.
  const twice = readRequestHead(Buffer.from('{"input":"x","model":"a/b","input":[{"type":"message","role":"user","content":"y"}],"model":"c/d"}'));
  t.equal(twice.request.model, 'c/d');
  t.same(twice.items.at(0), { type: 'message', role: 'user', content: 'y' });
  const text = readRequestHead(Buffer.from('{"model":"a/b","input":"hello"}'));
  t.same([text.items.length, text.items.at(0)], [1, { type: 'message', role: 'user', content: 'hello' }], 'a string input is the user message it stands for');
});

t.test('the head refuses what is wrong outside the input as parseRequest does; the input is the worker\'s to check', async (t) => {
  for (const text of [
    '{"model":', '{"model":"a/b","input":[]} trailing', '[1,2]', '{"input":[]}', '{"model":"a/b","input":[],"temperature":9}',
    '{"model":"a/b","input":[],"tools":[{"name":"x"}]}', '{"model":"a/b","input":3}', `{"model":"a/b","input":[],"metadata":${'['.repeat(100)}${']'.repeat(100)}}`,
  ]) {
    t.same(headRejects(text).body, rejects(text).body, text.slice(0, 60));
  }
  const badItem = '{"model":"a/b","input":[{"type":"message","role":"robot","content":"x"}]}';
  t.equal(readRequestHead(Buffer.from(badItem)).request.model, 'a/b', 'an invalid item passes the head…');
  t.match(rejects(badItem), { param: 'input[0].role' }, '…and parseRequest (the worker) refuses it');
  // Bytes inside the input that are not JSON: reading an item gives the body's own 400.
  const broken = Buffer.from('{"model":"a/b","input":[{"type":"message","content":"x"}, {"a" 1}]}');
  const head = readRequestHead(broken);
  t.same(head.items.at(0), { type: 'message', content: 'x' });
  t.throws(() => head.items.at(1), { status: 400, code: 'invalid_json' });
});

t.test('a tools list seen before is not parsed again: the same request, the same verdicts', async (t) => {
  const tools = Array.from({ length: 12 }, (_, i) => ({ type: 'function', name: `tool_${i}`, description: `does ${i} ${'x'.repeat(100)}`, parameters: { type: 'object', properties: { a: { type: 'string' } } } }));
  const listed = (fields: string) => `{"model":"a/b","input":[{"type":"message","role":"user","content":"hi"}],${fields}}`;
  const text = listed(`"tools":${JSON.stringify(tools)}`);
  const first = readRequestHead(Buffer.from(text));
  const again = readRequestHead(Buffer.from(text.replace('"hi"', '"again"')));
  t.equal(again.request.tools, first.request.tools, 'one array for every request that sends the same bytes');
  const { input, ...rest } = parseRequest(text);
  t.same(again.request, rest, 'what parseRequest reads');
  t.equal(ResponseSettings.fromRequest(again.request).json, ResponseSettings.fromRequest(parseRequest(text)).json, 'the same Response settings');
  // Under other bounds the list is checked again.
  t.match(headRejects(text, { ...DEFAULT_INPUT_LIMITS, maxTools: 4 }), { status: 400, body: { param: 'tools' } });
  // An error elsewhere is found as before.
  const hot = listed(`"tools":${JSON.stringify(tools)},"temperature":9`);
  t.same(headRejects(hot).body, rejects(hot).body);
  // Of duplicate members JSON.parse keeps the last, known or not.
  const other = tools.slice(1);
  t.same(readRequestHead(Buffer.from(listed(`"tools":${JSON.stringify(tools)},"tools":${JSON.stringify(other)}`))).request.tools, other);
  t.equal(readRequestHead(Buffer.from(listed(`"tools":${JSON.stringify(other)},"tools":${JSON.stringify(tools)}`))).request.tools, first.request.tools);
  // A list refused is never remembered.
  const bad = listed(`"tools":${JSON.stringify([...tools, { name: 'no type' }])}`);
  for (const n of [1, 2]) t.same(headRejects(bad).body, rejects(bad).body, `refused, time ${n}`);
});

t.test('hostile bytes: every cut and corruption of a request either reads or gets a 400, never anything else', async (t) => {
  const text = JSON.stringify({ model: 'a/b', stream: true, input: [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: 'hi "there"' }] }, { type: 'reasoning', summary: [], encrypted_content: 'rhd1.t.x' }], tools: [{ type: 'function', name: 'f', description: 'x'.repeat(1024) }] });
  const bodies: Buffer[] = [];
  for (let cut = 0; cut < text.length; cut++) bodies.push(Buffer.from(text.slice(0, cut)));
  for (let at = 0; at < text.length; at++) for (const c of ['"', '\\', '{', ']', ',', '\u00e9']) bodies.push(Buffer.from(text.slice(0, at) + c + text.slice(at + 1)));
  let read = 0;
  for (const body of bodies) {
    try {
      const head = readRequestHead(body);
      read++;
      for (let i = 0; i < head.items.length; i++) {
        head.items.member(i, 'type');
        head.items.at(i);
      }
      // What the head read of a body that is JSON is what JSON.parse reads.
      let full: ResponsesRequest | null = null;
      try {
        full = parseRequest(body);
      } catch {
        // the worker's 400
      }
      if (full) t.same([head.request.model, head.request.tools], [full.model, full.tools]);
    } catch (err) {
      if (!(err instanceof HttpError) || err.status !== 400) t.fail(`${body.toString()}: ${String(err)}`);
    }
  }
  t.ok(read > 0 && read < bodies.length, `${read} of ${bodies.length} bodies read, the rest refused with a 400`);
});
