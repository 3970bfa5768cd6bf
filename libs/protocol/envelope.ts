// The part of the Response object that describes the request rather than the answer: the 21
// settings fields of the Open Responses `ResponseResource` (instructions, tools, sampling, …), with
// the API's defaults for what the client left out. Serialized once per response: every
// `response.*` lifecycle event repeats them, and a Codex request's instructions and tools are ~40 KB.
import type { RequestFields, Tool } from './types';

/** The settings an `openai-responses` upstream reports itself, which replace the request's (never instructions and tools: they are the client's own, and large). */
export const UPSTREAM_SETTINGS = [
  'previous_response_id', 'tool_choice', 'truncation', 'parallel_tool_calls', 'text', 'top_p',
  'presence_penalty', 'frequency_penalty', 'top_logprobs', 'temperature', 'reasoning', 'max_output_tokens',
  'max_tool_calls', 'store', 'background', 'service_tier', 'metadata', 'safety_identifier', 'prompt_cache_key',
] as const;

/** Settings whose value may be null in the spec; an upstream's null for any other keeps the request's value. */
const NULLABLE = new Set(['previous_response_id', 'instructions', 'reasoning', 'max_output_tokens', 'max_tool_calls', 'safety_identifier', 'prompt_cache_key']);
const UPSTREAM = new Set<string>(UPSTREAM_SETTINGS);

export class ResponseSettings {
  private joined: string | null = null;

  private constructor(private readonly fields: Map<string, string>) {}

  /** From the client's request, with the Responses API's default where it sent nothing (or a value of the wrong type). */
  static fromRequest(req: RequestFields): ResponseSettings {
    const r = req as Record<string, unknown>;
    const text = isObject(req.text) ? req.text : {};
    const reasoning = isObject(req.reasoning) ? { effort: req.reasoning.effort ?? null, summary: req.reasoning.summary ?? null } : null;
    const values: Array<[string, unknown]> = [
      ['previous_response_id', str(r.previous_response_id)],
      ['instructions', str(req.instructions)],
      ['tools', req.tools],
      ['tool_choice', req.tool_choice ?? 'auto'],
      ['truncation', r.truncation === 'auto' ? 'auto' : 'disabled'],
      ['parallel_tool_calls', typeof req.parallel_tool_calls === 'boolean' ? req.parallel_tool_calls : true],
      ['text', { format: isObject(text.format) ? text.format : { type: 'text' }, verbosity: typeof text.verbosity === 'string' ? text.verbosity : 'medium' }],
      ['top_p', num(req.top_p, 1)],
      ['presence_penalty', num(r.presence_penalty, 0)],
      ['frequency_penalty', num(r.frequency_penalty, 0)],
      ['top_logprobs', Number.isInteger(r.top_logprobs) ? r.top_logprobs : 0],
      ['temperature', num(req.temperature, 1)],
      ['reasoning', reasoning],
      ['max_output_tokens', Number.isInteger(req.max_output_tokens) ? req.max_output_tokens : null],
      ['max_tool_calls', Number.isInteger(r.max_tool_calls) ? r.max_tool_calls : null],
      // RouterHub keeps no responses and runs none in the background (an openai-responses upstream
      // that stored one says so itself).
      ['store', false],
      ['background', false],
      ['service_tier', typeof r.service_tier === 'string' ? r.service_tier : 'default'],
      ['metadata', isObject(req.metadata) ? req.metadata : {}],
      ['safety_identifier', str(r.safety_identifier)],
      ['prompt_cache_key', str(req.prompt_cache_key)],
    ];
    const fields = new Map<string, string>();
    for (const [key, value] of values) fields.set(key, key === 'tools' ? toolsJson(value as Tool[] | undefined) : intern(JSON.stringify(value)));
    return new ResponseSettings(fields);
  }

  /** An upstream's own values (from its response object) replace the request's; other keys are ignored. */
  override(upstream: Record<string, unknown>): void {
    for (const key of Object.keys(upstream)) {
      const value = upstream[key];
      if (!UPSTREAM.has(key) || value === undefined || (value === null && !NULLABLE.has(key))) continue;
      this.fields.set(key, JSON.stringify(value));
      this.joined = null;
    }
  }

  /** `"key":value,…` for the body of the Response object (built once, and again only after an override). */
  get json(): string {
    if (this.joined === null) {
      let s = '';
      for (const [key, value] of this.fields) s += `${s ? ',' : ''}"${key}":${value}`;
      this.joined = s;
    }
    return this.joined;
  }
}

/** The upstream settings of an upstream's response object, for the worker to forward (small: never instructions or tools). */
export function pickUpstreamSettings(response: Record<string, unknown>): Record<string, unknown> | null {
  let out: Record<string, unknown> | null = null;
  for (const key of UPSTREAM_SETTINGS) {
    if (response[key] === undefined) continue;
    (out ??= {})[key] = response[key];
  }
  return out;
}

// A tools list the ingress has seen before is the same array in every request that sends it
// (validate.ts, knownTools): serialized once.
const echoedTools = new WeakMap<readonly Tool[], string>();

function toolsJson(tools: readonly Tool[] | undefined): string {
  if (!Array.isArray(tools)) return '[]';
  let json = echoedTools.get(tools);
  if (json === undefined) echoedTools.set(tools, (json = intern(JSON.stringify(tools.map(echoTool)))));
  return json;
}

/** Function tools echo with every field the spec requires (null when the client sent none). */
function echoTool(tool: Tool): Tool {
  const t = tool as Record<string, unknown>;
  if (tool.type !== 'function' || (t.description !== undefined && t.parameters !== undefined && t.strict !== undefined)) return tool;
  return { ...tool, description: t.description ?? null, parameters: t.parameters ?? null, strict: t.strict ?? null } as Tool;
}

// A fleet of Codex instances sends the same instructions and tools in every request: responses in
// flight share one copy of each serialized text instead of holding one apiece. Bounded in count and
// in characters, so that the cache itself never holds much after the streams are gone.
const INTERN_MIN_CHARS = 1024;
const INTERN_MAX_CHARS = 256 * 1024;
const INTERN_MAX_ENTRIES = 64;
const interned = new Map<string, string>();

function intern(s: string): string {
  if (s.length < INTERN_MIN_CHARS || s.length > INTERN_MAX_CHARS) return s;
  const known = interned.get(s);
  if (known !== undefined) return known;
  if (interned.size >= INTERN_MAX_ENTRIES) interned.delete(interned.keys().next().value!);
  interned.set(s, s);
  return s;
}

function isObject(v: unknown): v is Record<string, any> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}

function num(v: unknown, fallback: number): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : fallback;
}
