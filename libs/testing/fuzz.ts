// Test support: seeded mutations of real request bodies for the fuzz (services/tests/fuzz.test.ts).
// A case is a body (bytes, maybe not JSON) and the names of the mutations that made it, so that a
// failure reads as "deep nesting at tools[3].parameters + truncate"; seed and case index replay it.
import type { ResponsesRequest } from '../protocol/types';
import type { SeededRandom } from './faults';

export interface FuzzCase { body: Buffer; mutations: string[] }

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Path = Array<string | number>;

/** Fields RouterHub forwards to a provider, where deep nesting and huge values must be refused or survive. */
const FORWARDED: Path[] = [
  ['metadata'], ['client_metadata'], ['text'], ['reasoning'], ['tool_choice'], ['include'], ['instructions'],
  ['tools', 0, 'parameters'], ['tools', 0, 'parameters', 'properties'], ['tools', 3, 'format'],
  ['input', 0, 'content'], ['input', 0, 'content', 0, 'text'], ['input', -1, 'content'], ['input', -1, 'arguments'], ['input', -1, 'output'],
];

const UNKNOWN_TYPES = ['quantum_call', 'input_smell', '', 'message\u0000', 'function_call_output_v9', 'x'.repeat(300), '🦀'];
const WEIRD_NUMBERS = ['1e309', '-1e309', '-1', '0', '1.5', '9007199254740993', '1e-400', '-0', '2.5e+20', '340282366920938463463374607431768211457'];
const WEIRD_VALUES: Json[] = [null, true, false, 0, -1, 1.5, '', 'x', [], {}, [null], { type: null }, 'a'.repeat(1000)];

/** A second Codex turn: the first turn's request plus the model's reasoning, a tool call, its output and an apply_patch edit. */
export function codexSecondTurn(first: ResponsesRequest): ResponsesRequest {
  const input = Array.isArray(first.input) ? [...first.input] : [];
  input.push(
    { type: 'reasoning', id: 'rs_1', summary: [{ type: 'summary_text', text: 'Looking at the files.' }], content: null, encrypted_content: 'gAAAAB' + 'q'.repeat(200) },
    { type: 'function_call', id: 'fc_1', call_id: 'call_1', name: 'exec_command', arguments: '{"cmd":"ls -la"}' },
    { type: 'function_call_output', call_id: 'call_1', output: 'total 0\n-rw-r--r-- 1 root root 0 a.txt' },
    { type: 'custom_tool_call', id: 'ctc_1', call_id: 'call_2', name: 'apply_patch', input: '*** Begin Patch\n*** Add File: b.txt\n+hi\n*** End Patch' },
    { type: 'custom_tool_call_output', call_id: 'call_2', output: 'Done!' },
    { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'Created b.txt.' }] },
    { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'thanks, now run the tests' }] },
  );
  return { ...first, input } as ResponsesRequest;
}

/**
 * A mutated body: 1–3 mutations of a real body, on the object (flip a type, delete a field, nest
 * deeply, a huge string, an unknown type, an empty array, an out-of-range number) and then on its
 * text (truncate, a duplicate key, broken unicode, garbage bytes, the wrong top-level value).
 */
export function mutateBody(base: ResponsesRequest, model: string, rng: SeededRandom): FuzzCase {
  const doc = structuredClone({ ...base, model }) as unknown as { [key: string]: Json };
  const mutations: string[] = [];
  // Raw JSON text that replaces a placeholder string after serialization (what JSON.stringify cannot write).
  const raw: string[] = [];
  const placeholder = (text: string) => `@@RAW${raw.push(text) - 1}@@`;
  const count = rng.pick([0, 1, 1, 1, 2, 2, 3]);
  const textual: Array<(s: string) => string | Buffer> = [];
  for (let m = 0; m < count; m++) {
    switch (rng.int(12)) {
      case 0: {
        const path = rng.pick(pathsOf(doc));
        setAt(doc, path, rng.pick(WEIRD_VALUES));
        mutations.push(`flip type at ${show(path)}`);
        break;
      }
      case 1: {
        const path = rng.pick(pathsOf(doc).filter((p) => p.length > 0));
        if (path) deleteAt(doc, path);
        mutations.push(`delete ${show(path ?? [])}`);
        break;
      }
      case 2: {
        const path = resolve(doc, rng.pick(FORWARDED));
        const depth = rng.pick([40, 100, 500, 2000, 10_000, 50_000]);
        const kind = rng.pick(['array', 'object', 'mixed']);
        const open = kind === 'array' ? '[' : kind === 'object' ? '{"a":' : '[{"b":';
        const close = kind === 'array' ? ']' : kind === 'object' ? '}' : '}]';
        setAt(doc, path, placeholder(`${open.repeat(depth)}1${close.repeat(depth)}`));
        mutations.push(`${kind} nesting ${depth} deep at ${show(path)}`);
        break;
      }
      case 3: {
        const strings = pathsOf(doc).filter((p) => typeof getAt(doc, p) === 'string');
        const path = rng.pick(strings) ?? ['instructions'];
        // A megabyte now and then: enough to cross NATS's max_payload, rare enough to keep the run short.
        const size = rng.pick([10_000, 10_000, 10_000, 100_000, 100_000, 1_000_000]);
        setAt(doc, path, rng.pick(size > 100_000 ? ['x', 'é'] : ['x', 'é', '😀', '\\', '"', '\u0000']).repeat(size));
        mutations.push(`huge string (${size} chars) at ${show(path)}`);
        break;
      }
      case 4: {
        const typed = pathsOf(doc).filter((p) => p[p.length - 1] === 'type');
        const path = rng.pick(typed) ?? ['input', 0, 'type'];
        setAt(doc, path, rng.pick(UNKNOWN_TYPES));
        mutations.push(`unknown type at ${show(path)}`);
        break;
      }
      case 5: {
        const arrays = pathsOf(doc).filter((p) => Array.isArray(getAt(doc, p)));
        const path = rng.pick(arrays) ?? ['input'];
        setAt(doc, path, []);
        mutations.push(`empty array at ${show(path)}`);
        break;
      }
      case 6: {
        const field = rng.pick(['max_output_tokens', 'temperature', 'top_p', 'top_logprobs', 'truncation', 'parallel_tool_calls']);
        const value = rng.pick(WEIRD_NUMBERS);
        doc[field] = placeholder(value);
        mutations.push(`${field}: ${value}`);
        break;
      }
      case 7: {
        const dup = rng.pick(['"model":123,', '"input":"shadowed",', '"stream":"yes",', '"model":"fuzz/none",']);
        textual.push((s) => s.replace('{', `{${dup}`));
        mutations.push(`duplicate key ${dup}`);
        break;
      }
      case 8: {
        const how = rng.int(4);
        if (how === 0) textual.push((s) => s.replace(/"text":"/, '"text":"\\ud800 lone \\udfff'));
        else if (how === 1) textual.push((s) => Buffer.concat([Buffer.from(s.slice(0, s.length >> 1)), Buffer.from([0xff, 0xfe, 0xc0, 0xaf, 0xed, 0xa0, 0x80]), Buffer.from(s.slice(s.length >> 1))]));
        else if (how === 2) textual.push((s) => Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(s)]));
        else textual.push((s) => s.replace(/"text":"/, '"text":"\\u0000\\u001f\\uffff\\ufffe'));
        mutations.push(['lone surrogates', 'invalid UTF-8 bytes', 'byte-order mark', 'control characters'][how]);
        break;
      }
      case 9: {
        textual.push((s) => s.slice(0, rng.int(s.length)));
        mutations.push('truncated');
        break;
      }
      case 10: {
        textual.push((s) => {
          const at = rng.int(s.length);
          const garbage = Buffer.from(Array.from({ length: rng.between(1, 64) }, () => rng.int(256)));
          return Buffer.concat([Buffer.from(s.slice(0, at)), garbage, Buffer.from(s.slice(at))]);
        });
        mutations.push('garbage bytes inserted');
        break;
      }
      case 11: {
        const top = rng.pick(['[]', '"just a string"', '42', 'null', '[{"model":"x"}]', '', ' ', '{}', '{"model":"fuzz/x"}']);
        textual.push(() => top);
        mutations.push(`top-level ${JSON.stringify(top)}`);
        break;
      }
    }
  }
  let text = JSON.stringify(doc).replace(/"@@RAW(\d+)@@"/g, (_, i: string) => raw[Number(i)]);
  let body: Buffer | null = null;
  for (const f of textual) {
    const out = f(body ? body.toString('latin1') : text);
    if (Buffer.isBuffer(out)) body = out;
    else {
      text = out;
      body = null;
    }
  }
  return { body: body ?? Buffer.from(text), mutations: mutations.length ? mutations : ['unchanged'] };
}

function pathsOf(doc: Json, prefix: Path = [], out: Path[] = [], depth = 0): Path[] {
  out.push(prefix);
  if (depth > 7 || doc === null || typeof doc !== 'object') return out;
  if (Array.isArray(doc)) doc.forEach((v, i) => pathsOf(v, [...prefix, i], out, depth + 1));
  else for (const [k, v] of Object.entries(doc)) pathsOf(v, [...prefix, k], out, depth + 1);
  return out;
}

/** A forwarded-field path made concrete for this document (-1: the last item; missing parents created). */
function resolve(doc: Json, path: Path): Path {
  const out: Path = [];
  let node: Json | undefined = doc;
  for (const key of path) {
    const k: string | number = typeof key === 'number' && Array.isArray(node) ? (key < 0 ? node.length + key : Math.min(key, node.length - 1)) : key;
    if (typeof k === 'number' && k < 0) break;
    out.push(k);
    node = node && typeof node === 'object' ? (node as Record<string, Json>)[k as string] : undefined;
    if (node === undefined || node === null || typeof node !== 'object') break;
  }
  return out;
}

function getAt(doc: Json, path: Path): Json | undefined {
  let node: Json | undefined = doc;
  for (const k of path) node = node && typeof node === 'object' ? (node as Record<string, Json>)[k as string] : undefined;
  return node;
}

function setAt(doc: Json, path: Path, value: Json): void {
  if (path.length === 0) return;
  const parent = getAt(doc, path.slice(0, -1));
  if (parent && typeof parent === 'object') (parent as Record<string, Json>)[path[path.length - 1] as string] = value;
}

function deleteAt(doc: Json, path: Path): void {
  const parent = getAt(doc, path.slice(0, -1));
  const key = path[path.length - 1];
  if (Array.isArray(parent) && typeof key === 'number') parent.splice(key, 1);
  else if (parent && typeof parent === 'object') delete (parent as Record<string, Json>)[key as string];
}

function show(path: Path): string {
  return path.reduce<string>((s, k) => (typeof k === 'number' ? `${s}[${k}]` : s ? `${s}.${k}` : String(k)), '') || '(root)';
}
