import t from 'tap';
import { HttpError } from './errors';
import { parseRequest } from './validate';
import { codexRequest } from '../providers/replay';

function rejects(body: string | object): HttpError {
  try {
    parseRequest(typeof body === 'string' ? body : JSON.stringify(body));
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
