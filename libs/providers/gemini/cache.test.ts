// Gemini caches implicitly by prefix: each turn of a growing Codex conversation must map to a
// request whose system instruction, tools and earlier contents are exactly the previous turn's,
// so that what the previous request put in Gemini's cache is this request's prefix.
import t from 'tap';
import type { InputItem, ResponsesRequest } from '../../protocol/types';
import { codexRequest } from '../replay';
import { toGeminiRequest } from './request';

const dep = { provider: 'gemini', base_url: 'https://generativelanguage.googleapis.com/v1beta', model: 'gemini-2.5-pro' };

function turn(n: number): InputItem[] {
  return [
    { type: 'function_call', call_id: `call_${n}`, name: 'exec_command', arguments: JSON.stringify({ cmd: `cat file${n}` }) },
    { type: 'function_call_output', call_id: `call_${n}`, output: `contents of file ${n}\n`.repeat(10) },
  ] as InputItem[];
}

t.test('a growing Codex conversation keeps a byte-stable prefix for Gemini\'s implicit cache', async (t) => {
  const first = codexRequest();
  const requests: ResponsesRequest[] = [first];
  for (let n = 0; n < 4; n++) requests.push({ ...first, input: [...(requests.at(-1)!.input as InputItem[]), ...turn(n)] });
  const bodies = requests.map((r) => toGeminiRequest(r, dep));
  for (let n = 1; n < bodies.length; n++) {
    const [before, now] = [bodies[n - 1], bodies[n]];
    t.equal(JSON.stringify(now.systemInstruction), JSON.stringify(before.systemInstruction), `turn ${n}: the same system instruction`);
    t.equal(JSON.stringify(now.tools), JSON.stringify(before.tools), `turn ${n}: the same tools, in the same order`);
    const contents = now.contents as unknown[];
    const previous = before.contents as unknown[];
    t.ok(contents.length > previous.length, `turn ${n}: the conversation grew`);
    t.equal(JSON.stringify(contents.slice(0, previous.length)), JSON.stringify(previous), `turn ${n}: every earlier content unchanged`);
  }
  t.equal(JSON.stringify(toGeminiRequest(requests[2], dep)), JSON.stringify(bodies[2]), 'the mapping is deterministic');
});
