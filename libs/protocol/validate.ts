// Request validation from one JSON schema (ajv). Strict where RouterHub reads a field, open where
// Codex sends item and tool types that evolve faster than this schema (CODEX-CONTRACT.md 1.3/1.4).
import Ajv, { type ErrorObject } from 'ajv';
import { checkInputBounds, DEFAULT_INPUT_LIMITS, type InputLimits } from './bounds';
import { parseJsonBytes } from './json-bytes';
import { Edits, keyIs, objectRanges, rootStart, type Element } from './json-ranges';
import { invalidJson, invalidRequest, invalidValue, missingParameter, type HttpError } from './errors';
import type { RequestFields, ResponsesRequest, Tool } from './types';

// Every provider's translation reads a content part's fields: a part that is not an object (a string,
// null) must be refused here, not crash a worker.
const part = { type: 'object', required: ['type'], properties: { type: { type: 'string' } } } as const;

const item = {
  type: 'object',
  // A typed item, or a message in the API's easy form (`{"role","content"}`, no type).
  anyOf: [{ required: ['type'] }, { required: ['role', 'content'] }],
  properties: {
    type: { type: 'string' },
    role: { type: 'string', enum: ['user', 'assistant', 'system', 'developer'] },
    // Reasoning items replay `content: null` when there was no raw reasoning text.
    content: { type: ['string', 'array', 'null'], items: part },
    call_id: { type: 'string' },
    name: { type: 'string' },
    arguments: { type: 'string' },
    input: { type: 'string' },
    output: { type: ['string', 'array'], items: part },
  },
  // The fields each provider's translation reads of the item types it knows: missing, they are a
  // 400 naming the field, not a worker crash. A message is `type: "message"` or has no type (easy input).
  allOf: [
    { if: { anyOf: [{ not: { required: ['type'] } }, { properties: { type: { const: 'message' } } }] }, then: { required: ['role', 'content'], properties: { content: { type: ['string', 'array'] } } } },
    { if: { required: ['type'], properties: { type: { enum: ['function_call_output', 'custom_tool_call_output'] } } }, then: { required: ['call_id', 'output'] } },
    { if: { required: ['type'], properties: { type: { const: 'function_call' } } }, then: { required: ['call_id', 'name', 'arguments'] } },
    { if: { required: ['type'], properties: { type: { const: 'custom_tool_call' } } }, then: { required: ['call_id', 'name', 'input'] } },
  ],
} as const;

const schema = {
  type: 'object',
  required: ['model', 'input'],
  properties: {
    model: { type: 'string', minLength: 1 },
    input: { anyOf: [{ type: 'string' }, { type: 'array', items: item }] },
    instructions: { type: ['string', 'null'] },
    stream: { type: 'boolean' },
    tools: { type: 'array', items: { type: 'object', required: ['type'], properties: { type: { type: 'string' }, name: { type: 'string' } } } },
    tool_choice: { anyOf: [{ type: 'string', enum: ['auto', 'none', 'required'] }, { type: 'object', required: ['type'] }] },
    parallel_tool_calls: { type: 'boolean' },
    reasoning: { type: ['object', 'null'], properties: { effort: { type: ['string', 'null'] }, summary: { type: ['string', 'null'] } } },
    max_output_tokens: { type: ['integer', 'null'], minimum: 1 },
    temperature: { type: ['number', 'null'], minimum: 0, maximum: 2 },
    top_p: { type: ['number', 'null'], minimum: 0, maximum: 1 },
    store: { type: 'boolean' },
    include: { type: 'array', items: { type: 'string' } },
    prompt_cache_key: { type: 'string' },
    text: { type: 'object' },
    client_metadata: { type: 'object' },
    metadata: { type: ['object', 'null'] },
  },
} as const;

// The fast check stops at the first error; only a rejected request pays for collecting them all,
// to name the most specific one.
const check = new Ajv({ allErrors: false, strict: false }).compile(schema);
const explain = new Ajv({ allErrors: true, strict: false }).compile(schema);

/**
 * Parses and validates a request body and checks it against the input bounds (nesting, counts,
 * string lengths); throws an HttpError 400 that names the offending field.
 */
export function parseRequest(body: Uint8Array | string, limits: InputLimits = DEFAULT_INPUT_LIMITS): ResponsesRequest {
  let doc: unknown;
  try {
    doc = typeof body === 'string' ? JSON.parse(body) : parseJsonBytes(body);
  } catch (err) {
    // V8's JSON.parse is iterative, never a RangeError: 100k levels of `[` parse (the bounds below
    // refuse them) or, unclosed, end here as a SyntaxError.
    throw invalidJson((err as Error).message);
  }
  validate(doc, limits);
  return doc as ResponsesRequest;
}

function validate(doc: unknown, limits: InputLimits): void {
  if (!check(doc)) {
    explain(doc);
    throw describe(mostSpecific(explain.errors ?? []));
  }
  checkInputBounds(doc as object, limits);
}

/** A request's input items as routing reads them: parsed, or parsed one by one when asked for. */
export interface InputItems {
  readonly length: number;
  /** Item `i` (not validated when read from a RequestHead: any JSON value). */
  at(i: number): unknown;
  /**
   * Member `key` of item `i` (undefined: not an object, or no such member), without parsing the rest
   * of the item; a string value only up to `maxChars` when given.
   */
  member(i: number, key: string, maxChars?: number): unknown;
  /** Item `i` as JSON text, its first `maxChars` characters (from the bytes: nothing recurses over an item not yet validated). */
  json(i: number, maxChars: number): string;
}

/** The items of a parsed input; a string is the one user message it stands for. */
export function parsedItems(input: ResponsesRequest['input']): InputItems {
  const items: unknown[] = typeof input === 'string' ? [{ type: 'message', role: 'user', content: input }] : input;
  return {
    length: items.length,
    at: (i) => items[i],
    member: (i, key, maxChars) => {
      const value = (items[i] as Record<string, unknown> | null)?.[key];
      return typeof value === 'string' && maxChars !== undefined ? value.slice(0, maxChars) : value;
    },
    json: (i, maxChars) => JSON.stringify(items[i]).slice(0, maxChars),
  };
}

/**
 * What the ingress reads of a request: every field but `input`, parsed and validated as parseRequest
 * would, and where the input's items sit in the bytes. A Codex turn late in a session is megabytes
 * of `input`, which the worker parses anyway, and validates with parseRequest before it translates
 * anything (an error in the input reaches the client from there, as the same 400); parsing it here
 * too cost a third of the ingress's CPU for such a request.
 */
export interface RequestHead {
  request: RequestFields;
  items: InputItems;
}

/**
 * The head of a request. A body that does not scan as an object with an `input` array (a string
 * input, bytes that are not JSON) is parsed whole instead, with parseRequest's verdict.
 */
export function readRequestHead(body: Buffer, limits: InputLimits = DEFAULT_INPUT_LIMITS): RequestHead {
  const scanned = scanInput(body, limits);
  let doc: unknown;
  try {
    doc = scanned && parseJsonBytes(scanned.rest);
  } catch {
    doc = null;
  }
  if (!scanned || !isObject(doc)) {
    const request = parseRequest(body, limits);
    return { request, items: parsedItems(request.input) };
  }
  // Validated with an empty input in its place: the worker validates the items.
  doc.input = [];
  validate(doc, limits);
  delete doc.input;
  const { tools } = scanned;
  if (typeof tools === 'string') rememberTools(tools, doc.tools as Tool[], limits);
  else if (tools) doc.tools = tools.tools;
  return { request: doc as RequestFields, items: new ScannedItems(body, scanned.items, limits) };
}

/**
 * Tools lists as parsed and validated the first time their bytes were seen: every request of a
 * Codex fleet carries the same ~10 KB of tools, which the ingress then parses, validates and (for
 * `response.created`) serializes once per distinct list instead of once per request. By the bytes
 * of the list, under the bounds it was checked against; shared by the requests that sent it, so
 * read only. Bounded in count and size, like the envelope's interned texts.
 */
interface KnownTools { tools: readonly Tool[]; limits: InputLimits }
const KNOWN_TOOLS_MIN_BYTES = 1024;
const KNOWN_TOOLS_MAX_BYTES = 256 * 1024;
const KNOWN_TOOLS_MAX_ENTRIES = 32;
const knownTools = new Map<string, KnownTools>();

function rememberTools(bytes: string, tools: Tool[], limits: InputLimits): void {
  if (knownTools.size >= KNOWN_TOOLS_MAX_ENTRIES) knownTools.delete(knownTools.keys().next().value!);
  knownTools.set(bytes, { tools, limits });
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * The body without its `input` members, and the items of the last (the one JSON.parse keeps); null
 * when the bytes do not scan as an object whose last `input` is an array. The scan finds boundaries
 * only: JSON.parse of the rest checks everything outside the input, the worker's parse the input.
 * `tools`: a known list, whose members are cut from the rest too, or the bytes of one to remember
 * once the rest has parsed and validated.
 */
function scanInput(body: Buffer, limits: InputLimits): { rest: Buffer; items: Element[]; tools?: KnownTools | string } | null {
  try {
    const { members } = objectRanges(body, rootStart(body), (m) => keyIs(body, m, 'input'));
    const isInput = (i: number) => keyIs(body, members[i], 'input');
    const isTools = (i: number) => keyIs(body, members[i], 'tools');
    let last = members.length - 1;
    while (last >= 0 && !isInput(last)) last--;
    const items = last >= 0 ? members[last].elements : undefined;
    if (!items) return null;
    // The last `tools`, as JSON.parse keeps.
    let t = members.length - 1;
    while (t >= 0 && !isTools(t)) t--;
    const size = t >= 0 ? members[t].end - members[t].valueStart : 0;
    const bytes = size >= KNOWN_TOOLS_MIN_BYTES && size <= KNOWN_TOOLS_MAX_BYTES ? body.toString('latin1', members[t].valueStart, members[t].end) : undefined;
    const known = bytes === undefined ? undefined : knownTools.get(bytes);
    if (known?.limits === limits) return { rest: new Edits(body).editList(members, (i) => isInput(i) || isTools(i)).bytes(), items, tools: known };
    return { rest: new Edits(body).editList(members, isInput).bytes(), items, tools: bytes };
  } catch {
    // Bytes that are not JSON can put a boundary anywhere (past the end, too): parseRequest decides.
    return null;
  }
}

/**
 * Items found in the bytes, each parsed when routing reads it. The input was not parsed: bytes that
 * are not JSON get the body's own 400 invalid_json (from parseRequest) when an item is read.
 */
class ScannedItems implements InputItems {
  constructor(private readonly body: Buffer, private readonly items: Element[], private readonly limits: InputLimits) {}

  get length(): number {
    return this.items.length;
  }

  at(i: number): unknown {
    const { start, end } = this.items[i];
    return this.read(() => parseJsonBytes(this.body.subarray(start, end)));
  }

  member(i: number, key: string, maxChars?: number): unknown {
    return this.read(() => {
      const { body } = this;
      const members = this.items[i].members;
      if (!members) return undefined;
      // The last of duplicate keys, as JSON.parse keeps.
      let k = members.length - 1;
      while (k >= 0 && !keyIs(body, members[k], key)) k--;
      if (k < 0) return undefined;
      const { valueStart: start, end } = members[k];
      // A string written plainly (a type, a base64 state) is its bytes.
      if (body[start] === QUOTE) {
        const stop = maxChars === undefined ? end - 1 : Math.min(end - 1, start + 1 + maxChars);
        let at = start + 1;
        while (at < stop && body[at] !== BACKSLASH && body[at] !== QUOTE && body[at] < 0x80) at++;
        if (at === stop) return body.toString('latin1', start + 1, stop);
      }
      const value = parseJsonBytes(body.subarray(start, end));
      return typeof value === 'string' && maxChars !== undefined ? value.slice(0, maxChars) : value;
    });
  }

  json(i: number, maxChars: number): string {
    const { start, end } = this.items[i];
    return this.body.toString('utf8', start, Math.min(end, start + maxChars));
  }

  private read<T>(f: () => T): T {
    try {
      return f();
    } catch (err) {
      parseRequest(this.body, this.limits);
      throw invalidJson((err as Error).message);
    }
  }
}

/**
 * The error deepest in the document says most (`input[3].type` rather than `input`); at one depth,
 * an anyOf summary says more than the one branch that failed first.
 */
function mostSpecific(errors: ErrorObject[]): ErrorObject | undefined {
  const depth = (e: ErrorObject) => e.instancePath.split('/').length * 2 + (e.keyword === 'anyOf' ? 1 : 0);
  return errors.reduce<ErrorObject | undefined>((best, e) => (!best || depth(e) > depth(best) ? e : best), undefined);
}

function describe(e: ErrorObject | undefined): HttpError {
  if (!e) return invalidRequest();
  if (e.keyword === 'required') {
    const field = joinPath(e.instancePath, String(e.params.missingProperty));
    return missingParameter(field);
  }
  const field = joinPath(e.instancePath) || 'body';
  const detail = e.keyword === 'anyOf' ? describeAnyOf(field) : `must ${e.message?.replace(/^must /, '')}`;
  return invalidValue(field, detail);
}

function describeAnyOf(field: string): string {
  if (field === 'input') return 'expected a string or an array of input items';
  if (field === 'tool_choice') return "expected 'auto', 'none', 'required' or a tool object";
  if (/^input\[\d+\]$/.test(field)) return 'expected an item with a "type", or a message with "role" and "content"';
  return 'has the wrong type';
}

/** `/input/3/type` → `input[3].type` (the way OpenAI names params). */
function joinPath(pointer: string, leaf?: string): string {
  const parts = pointer.split('/').filter(Boolean);
  if (leaf) parts.push(leaf);
  return parts.reduce((acc, p) => (/^\d+$/.test(p) ? `${acc}[${p}]` : acc ? `${acc}.${p}` : p), '');
}
