// Request validation from one JSON schema (ajv). Strict where RouterHub reads a field, open where
// Codex sends item and tool types that evolve faster than this schema (CODEX-CONTRACT.md 1.3/1.4).
import Ajv, { type ErrorObject } from 'ajv';
import { checkInputBounds, DEFAULT_INPUT_LIMITS, type InputLimits } from './bounds';
import { parseJsonBytes } from './json-bytes';
import { invalidJson, invalidRequest, invalidValue, missingParameter, type HttpError } from './errors';
import type { ResponsesRequest } from './types';

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
export function parseRequest(body: Buffer | string, limits: InputLimits = DEFAULT_INPUT_LIMITS): ResponsesRequest {
  let doc: unknown;
  try {
    doc = typeof body === 'string' ? JSON.parse(body) : parseJsonBytes(body);
  } catch (err) {
    // V8's JSON.parse is iterative, never a RangeError: 100k levels of `[` parse (the bounds below
    // refuse them) or, unclosed, end here as a SyntaxError.
    throw invalidJson((err as Error).message);
  }
  if (!check(doc)) {
    explain(doc);
    throw describe(mostSpecific(explain.errors ?? []));
  }
  checkInputBounds(doc, limits);
  return doc as ResponsesRequest;
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
