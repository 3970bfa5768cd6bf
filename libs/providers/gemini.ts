// gemini: Google's Gemini API (`models/{model}:streamGenerateContent?alt=sse`). Requests become
// `contents` + `systemInstruction` + `functionDeclarations`; each SSE `data:` chunk is a complete
// GenerateContentResponse whose parts become Responses items. Gemini has no end event: the last
// chunk's finishReason decides the terminal in onEnd().
//
// Thought signatures (Gemini 3 rejects a replayed function call without its signature) travel
// through Codex in a reasoning item's encrypted_content: base64 of `{"gemini":{"signatures":[…]}}`,
// each signature naming the call_id or message id of the part it was attached to. On the way back
// every signature is put on that part again (see encodeGeminiState / toGeminiRequest).
import type {
  ContentPart, FunctionTool, InputItem, MessageItem, NamespaceTool, ResponsesRequest, Tool, Usage,
} from '../protocol/types';
import type { Deployment } from '../routing/catalog';
import { httpFailure, retryAfterSeconds, streamFailure } from './errors';
import { CUSTOM_TOOL_INPUT_PARAM, type OutputBuilder } from './output';
import { decodeState, encodeState } from './reasoning-state';
import { streamingHeaders, upstreamUrl } from './upstream-request';
import type { ProviderAdapter, StreamMapper, UpstreamFailure, UpstreamRequest } from './types';
import { makeUsage } from './usage';

const NAME = 'Google Gemini';

type Json = Record<string, unknown>;

// ---------------------------------------------------------------------------------------------
// Thought-signature state carried in encrypted_content

/** One thoughtSignature and the part it belongs to: a function call (by call_id) or a message's text. */
export interface SignatureRef { sig: string; call_id?: string; msg_id?: string }

export function encodeGeminiState(signatures: SignatureRef[]): string {
  return encodeState('gemini', { signatures });
}

/** The signatures in an encrypted_content this adapter wrote, or null (another provider's state). */
export function decodeGeminiState(value: unknown): SignatureRef[] | null {
  const sigs = decodeState<{ signatures?: unknown }>('gemini', value)?.signatures;
  if (!Array.isArray(sigs)) return null;
  return sigs.filter((s): s is SignatureRef => !!s && typeof (s as SignatureRef).sig === 'string');
}

// ---------------------------------------------------------------------------------------------
// Schema cleaning: Gemini accepts a subset of OpenAPI 3.0 Schema (ai.google.dev/api/caching#Schema)
// and rejects unknown fields, so everything outside that subset is dropped or rewritten.

const SCHEMA_KEEP = new Set([
  'type', 'format', 'description', 'nullable', 'enum', 'items', 'properties', 'required', 'anyOf',
  'minItems', 'maxItems', 'minimum', 'maximum', 'minLength', 'maxLength', 'pattern', 'minProperties', 'maxProperties',
]);
// The Gemini Developer API accepts only these string formats; others fail the request.
const STRING_FORMATS = new Set(['enum', 'date-time']);
const MAX_SCHEMA_DEPTH = 24;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * A JSON Schema reduced to what Gemini's function declarations accept: local `$ref`s inlined,
 * `allOf` merged, `oneOf` → `anyOf`, `const` → `enum`, `["x","null"]` → `x` + nullable,
 * non-string enums moved into the description, empty `properties` and dangling `required` removed,
 * and every other keyword (`additionalProperties`, `$schema`, `default`, `title`, …) dropped.
 */
export function cleanSchema(schema: unknown, root: unknown = schema, depth = 0, refs: ReadonlySet<string> = new Set()): Json {
  if (!isObject(schema) || depth > MAX_SCHEMA_DEPTH) return {};
  let node: Json = { ...schema };

  if (typeof node.$ref === 'string') {
    // A recursive schema cannot be expressed without $ref: the inner occurrence becomes `{}`.
    if (refs.has(node.$ref)) return {};
    const target = resolveRef(root, node.$ref);
    refs = new Set([...refs, node.$ref]);
    const { $ref: _ref, ...rest } = node;
    node = { ...(target ?? {}), ...rest };
  }
  const sub = (s: unknown) => cleanSchema(s, root, depth + 1, refs);
  if (Array.isArray(node.allOf)) {
    for (const member of node.allOf) node = mergeSchemas(node, sub(member));
  }
  if (Array.isArray(node.oneOf) && !Array.isArray(node.anyOf)) node.anyOf = node.oneOf;
  if (node.const !== undefined && node.enum === undefined) node.enum = [node.const];

  const out: Json = {};
  let nullable = node.nullable === true;
  let description = typeof node.description === 'string' ? node.description : undefined;

  if (Array.isArray(node.type)) {
    const types = node.type.filter((t): t is string => typeof t === 'string' && t !== 'null');
    nullable ||= node.type.includes('null');
    if (types.length === 1) out.type = types[0];
    else if (types.length > 1) out.anyOf = types.map((t) => ({ type: t }));
  } else if (typeof node.type === 'string' && node.type !== 'null') {
    out.type = node.type;
  }

  if (Array.isArray(node.anyOf)) {
    const members = node.anyOf.filter((m) => !(isObject(m) && m.type === 'null')).map(sub);
    nullable ||= members.length < node.anyOf.length;
    if (members.length === 1) Object.assign(out, { ...members[0], ...out });
    else if (members.length > 1) out.anyOf = members;
  }

  for (const [key, value] of Object.entries(node)) {
    if (!SCHEMA_KEEP.has(key) || key === 'type' || key === 'anyOf' || key === 'nullable' || key === 'description') continue;
    if (key === 'properties' && isObject(value)) {
      const props: Json = {};
      for (const [name, schema] of Object.entries(value)) props[name] = sub(schema);
      if (Object.keys(props).length > 0) out.properties = props;
    } else if (key === 'items') {
      out.items = sub(value);
    } else if (key === 'enum' && Array.isArray(value)) {
      if (value.every((v) => typeof v === 'string')) out.enum = value;
      else description = [description, `Allowed values: ${value.map((v) => JSON.stringify(v)).join(', ')}.`].filter(Boolean).join(' ');
    } else if (key === 'format') {
      if (typeof value === 'string' && STRING_FORMATS.has(value)) out.format = value;
    } else if (key === 'required' && Array.isArray(value)) {
      out.required = value;
    } else {
      out[key] = value;
    }
  }

  if (description !== undefined) out.description = description;
  if (out.type === undefined && out.anyOf === undefined) {
    if (out.enum) out.type = 'string';
    else if (out.properties) out.type = 'object';
    else if (out.items) out.type = 'array';
  }
  if (out.format && out.type !== 'string') delete out.format;
  // Gemini rejects an ARRAY without `items` ("items: missing field"); strings are the usual element.
  if (out.type === 'array' && !isObject(out.items)) out.items = { type: 'string' };
  const props = isObject(out.properties) ? out.properties : {};
  if (Array.isArray(out.required)) {
    const required = out.required.filter((r): r is string => typeof r === 'string' && r in props);
    if (required.length > 0) out.required = required;
    else delete out.required;
  }
  if (nullable) out.nullable = true;
  return out;
}

function resolveRef(root: unknown, ref: string): Json | undefined {
  const m = /^#\/(\$defs|definitions)\/(.+)$/.exec(ref);
  if (!m || !isObject(root)) return undefined;
  const defs = root[m[1]];
  const target = isObject(defs) ? defs[m[2].replace(/~1/g, '/').replace(/~0/g, '~')] : undefined;
  return isObject(target) ? target : undefined;
}

function mergeSchemas(a: Json, b: Json): Json {
  const merged: Json = { ...b, ...a };
  if (isObject(a.properties) || isObject(b.properties)) merged.properties = { ...(b.properties as Json), ...(a.properties as Json) };
  if (Array.isArray(a.required) || Array.isArray(b.required)) {
    merged.required = [...new Set([...((a.required as unknown[]) ?? []), ...((b.required as unknown[]) ?? [])])];
  }
  delete merged.allOf;
  return merged;
}

// ---------------------------------------------------------------------------------------------
// Request

type GeminiPart = Json;
interface GeminiContent { role: 'user' | 'model'; parts: GeminiPart[] }

/** The tools Gemini can call: Responses function, custom and namespace tools, flattened. */
function functionTools(tools: Tool[] | undefined, namespace?: string): Array<{ tool: FunctionTool | Tool; namespace?: string }> {
  const out: Array<{ tool: FunctionTool | Tool; namespace?: string }> = [];
  for (const tool of tools ?? []) {
    if (tool.type === 'function' || tool.type === 'custom') out.push({ tool, namespace });
    else if (tool.type === 'namespace') out.push(...functionTools((tool as NamespaceTool).tools, String(tool.name)));
    // web_search, tool_search and other hosted tools cannot run on Gemini: dropped.
  }
  return out;
}

function declaration(tool: Tool): Json {
  const name = String(tool.name);
  const description = typeof tool.description === 'string' ? tool.description : '';
  if (tool.type === 'custom') {
    const format = tool.format as { type?: string; definition?: string } | undefined;
    const grammar = format?.type === 'grammar' && format.definition ? `\nThe text must match this grammar:\n${format.definition}` : '';
    return {
      name,
      description: `${description}\n\nThis tool takes raw text, not JSON: pass the complete input (for apply_patch, the full patch from "*** Begin Patch" to "*** End Patch") as the single string argument "${CUSTOM_TOOL_INPUT_PARAM}".${grammar}`.trim(),
      parameters: {
        type: 'object',
        properties: { [CUSTOM_TOOL_INPUT_PARAM]: { type: 'string', description: `The raw ${name} input text.` } },
        required: [CUSTOM_TOOL_INPUT_PARAM],
      },
    };
  }
  const decl: Json = { name };
  if (description) decl.description = description;
  const parameters = cleanSchema((tool as FunctionTool).parameters ?? {});
  // A function without parameters leaves `parameters` unset (an OBJECT must have properties).
  if (isObject(parameters.properties)) decl.parameters = parameters;
  return decl;
}

function toolConfig(choice: ResponsesRequest['tool_choice'], names: Set<string>): Json | undefined {
  if (choice === undefined || choice === 'auto') return undefined;
  if (choice === 'none') return { functionCallingConfig: { mode: 'NONE' } };
  if (choice === 'required') return { functionCallingConfig: { mode: 'ANY' } };
  if (typeof choice === 'object' && typeof choice.name === 'string' && names.has(choice.name)) {
    return { functionCallingConfig: { mode: 'ANY', allowedFunctionNames: [choice.name] } };
  }
  return undefined;
}

const BUDGETS: Record<string, number> = { minimal: 512, low: 2048, medium: 8192, high: 24576, xhigh: 24576 };

/** Responses reasoning → Gemini thinkingConfig (level on Gemini 3, token budget on 2.5). */
function thinkingConfig(req: ResponsesRequest, model: string): Json | undefined {
  // Models before 2.5 have no thinking and reject a thinkingConfig.
  if (/gemini-(1\.|2\.0)/i.test(model)) return undefined;
  const effort = req.reasoning?.effort ?? null;
  const summary = req.reasoning?.summary ?? null;
  const includeThoughts = summary !== 'none';
  if (!effort) return summary && summary !== 'none' ? { includeThoughts: true } : undefined;
  if (/gemini-3/i.test(model)) {
    // Gemini 3 cannot turn thinking off; LOW is its lightest level common to Pro and Flash.
    return { thinkingLevel: ['none', 'minimal', 'low'].includes(effort) ? 'LOW' : 'HIGH', includeThoughts };
  }
  if (effort === 'none') return { thinkingBudget: /pro/i.test(model) ? 128 : 0 }; // 2.5 Pro cannot disable thinking
  return { thinkingBudget: BUDGETS[effort] ?? -1, includeThoughts };
}

function textOf(content: string | ContentPart[] | undefined): string {
  if (typeof content === 'string') return content;
  return ((content ?? []) as Json[]).map((c) => (typeof c.text === 'string' ? c.text : '')).join('');
}

function imagePart(part: ContentPart): GeminiPart | null {
  const url = (part as Json).image_url;
  if (typeof url !== 'string') return null;
  const data = /^data:([^;,]+);base64,(.*)$/s.exec(url);
  if (data) return { inlineData: { mimeType: data[1], data: data[2] } };
  if (/^https?:\/\//.test(url)) {
    const ext = /\.(png|jpe?g|webp|gif|heic|heif)(\?|$)/i.exec(url)?.[1].toLowerCase();
    const mimeType = ext ? `image/${ext === 'jpg' ? 'jpeg' : ext}` : undefined;
    return { fileData: mimeType ? { mimeType, fileUri: url } : { fileUri: url } };
  }
  return null;
}

function contentParts(content: string | ContentPart[] | undefined): GeminiPart[] {
  if (typeof content === 'string') return content === '' ? [] : [{ text: content }];
  const parts: GeminiPart[] = [];
  for (const c of (content ?? []) as Json[]) {
    if (c.type === 'input_image') {
      const img = imagePart(c as ContentPart);
      if (img) parts.push(img);
    } else if (typeof c.text === 'string' && c.text !== '') {
      parts.push({ text: c.text });
    } else if (c.type === 'refusal' && typeof c.refusal === 'string') {
      parts.push({ text: c.refusal });
    }
  }
  return parts;
}

function parseArgs(args: unknown): Json {
  if (typeof args !== 'string') return {};
  try {
    const parsed = JSON.parse(args) as unknown;
    return isObject(parsed) ? parsed : {};
  } catch {
    return {};
  }
}

/** Ids this adapter or OpenAI generated (`call_…`) are not Gemini's, so they are not sent as `id`. */
function geminiCallId(callId: string): string | undefined {
  return callId && !callId.startsWith('call_') ? callId : undefined;
}

function functionCallPart(name: string, args: Json, callId: string, sigs: Map<string, string>): GeminiPart {
  const id = geminiCallId(callId);
  const part: GeminiPart = { functionCall: id ? { name, args, id } : { name, args } };
  const sig = sigs.get(`call:${callId}`);
  if (sig) part.thoughtSignature = sig;
  return part;
}

/** A tool result: text goes into `response.output`; images follow as their own parts. */
function functionResponseParts(name: string, callId: string, output: string | ContentPart[]): GeminiPart[] {
  const images = typeof output === 'string' ? [] : output.filter((c) => c.type === 'input_image').map(imagePart).filter((p): p is GeminiPart => p !== null);
  const id = geminiCallId(callId);
  const response = { output: textOf(typeof output === 'string' ? output : output.filter((c) => c.type !== 'input_image')) };
  return [{ functionResponse: id ? { name, response, id } : { name, response } }, ...images];
}

export function toGeminiRequest(req: ResponsesRequest, deployment: Deployment): Json {
  const items: InputItem[] = typeof req.input === 'string' ? [{ type: 'message', role: 'user', content: req.input }] : req.input ?? [];

  // Signatures from earlier Gemini turns, and the tool names behind call_ids (Gemini pairs results by name).
  const sigs = new Map<string, string>();
  const callNames = new Map<string, string>();
  for (const item of items) {
    if (item.type === 'reasoning') {
      for (const s of decodeGeminiState(item.encrypted_content) ?? []) {
        if (s.call_id) sigs.set(`call:${s.call_id}`, s.sig);
        else if (s.msg_id) sigs.set(`msg:${s.msg_id}`, s.sig);
      }
    } else if ((item.type === 'function_call' || item.type === 'custom_tool_call') && typeof item.call_id === 'string') {
      callNames.set(item.call_id, String(item.name));
    }
  }

  const system: GeminiPart[] = [];
  if (req.instructions) system.push({ text: req.instructions });
  const contents: GeminiContent[] = [];
  const push = (role: GeminiContent['role'], parts: GeminiPart[]) => {
    if (parts.length === 0) return;
    const last = contents[contents.length - 1];
    if (last?.role === role) last.parts.push(...parts);
    else contents.push({ role, parts: [...parts] });
  };

  for (const item of items) {
    switch (item.type) {
      case 'message': {
        const msg = item as MessageItem;
        const parts = contentParts(msg.content);
        if (msg.role === 'developer' || msg.role === 'system') {
          system.push(...parts.filter((p) => typeof p.text === 'string'));
        } else if (msg.role === 'assistant') {
          const sig = msg.id ? sigs.get(`msg:${msg.id}`) : undefined;
          const lastText = parts.map((p) => typeof p.text === 'string').lastIndexOf(true);
          if (sig && lastText >= 0) parts[lastText] = { ...parts[lastText], thoughtSignature: sig };
          push('model', parts);
        } else {
          push('user', parts);
        }
        break;
      }
      case 'function_call':
        push('model', [functionCallPart(String(item.name), parseArgs(item.arguments), String(item.call_id), sigs)]);
        break;
      case 'custom_tool_call':
        push('model', [functionCallPart(String(item.name), { [CUSTOM_TOOL_INPUT_PARAM]: String(item.input ?? '') }, String(item.call_id), sigs)]);
        break;
      case 'function_call_output':
      case 'custom_tool_call_output': {
        const callId = String(item.call_id);
        const output = (item.output ?? '') as string | ContentPart[];
        const name = callNames.get(callId);
        // A result whose call is not in the history cannot be a functionResponse: keep it as text.
        if (name) push('user', functionResponseParts(name, callId, output));
        else push('user', [{ text: `Tool output (${callId}):\n${typeof output === 'string' ? output : textOf(output)}` }]);
        break;
      }
      default:
        // reasoning (its signatures are applied above), hosted-tool calls, compaction…: nothing to send.
        break;
    }
  }

  const body: Json = { contents };
  if (system.length > 0) body.systemInstruction = { parts: system };

  const declared = functionTools(req.tools);
  if (declared.length > 0) {
    const functionDeclarations = declared.map(({ tool }) => declaration(tool));
    body.tools = [{ functionDeclarations }];
    const config = toolConfig(req.tool_choice, new Set(functionDeclarations.map((d) => String(d.name))));
    if (config) body.toolConfig = config;
  }

  const generationConfig: Json = {};
  if (typeof req.max_output_tokens === 'number') generationConfig.maxOutputTokens = req.max_output_tokens;
  if (typeof req.temperature === 'number') generationConfig.temperature = req.temperature;
  if (typeof req.top_p === 'number') generationConfig.topP = req.top_p;
  const format = req.text?.format;
  if (format?.type === 'json_schema' && isObject(format.schema)) {
    generationConfig.responseMimeType = 'application/json';
    generationConfig.responseSchema = cleanSchema(format.schema);
  } else if (format?.type === 'json_object') {
    generationConfig.responseMimeType = 'application/json';
  }
  const thinking = thinkingConfig(req, deployment.model);
  if (thinking) generationConfig.thinkingConfig = thinking;
  if (Object.keys(generationConfig).length > 0) body.generationConfig = generationConfig;
  // prompt_cache_key: Gemini caches implicitly (no request field); hits come back as cachedContentTokenCount.
  return body;
}

export function buildRequest(req: ResponsesRequest, deployment: Deployment, apiKey: string): UpstreamRequest {
  const headers = streamingHeaders(deployment, apiKey ? { 'x-goog-api-key': apiKey } : null);
  const url = upstreamUrl(deployment, `/models/${deployment.model}:streamGenerateContent?alt=sse`);
  return { url, headers, body: JSON.stringify(toGeminiRequest(req, deployment)) };
}

// ---------------------------------------------------------------------------------------------
// Stream

interface PartialArg { jsonPath?: string; stringValue?: string; numberValue?: number; boolValue?: boolean; nullValue?: unknown; willContinue?: boolean }
interface FunctionCallPart { name?: string; args?: Json; id?: string; partialArgs?: PartialArg[]; willContinue?: boolean }
interface Part { text?: string; thought?: boolean; thoughtSignature?: string; functionCall?: FunctionCallPart }
interface UsageMetadata {
  promptTokenCount?: number; cachedContentTokenCount?: number; candidatesTokenCount?: number; thoughtsTokenCount?: number;
}
interface Chunk {
  candidates?: Array<{ content?: { parts?: Part[] }; finishReason?: string; finishMessage?: string }>;
  promptFeedback?: { blockReason?: string };
  usageMetadata?: UsageMetadata;
  error?: { code?: number; message?: string; status?: string };
}

/** A function call whose arguments stream as `partialArgs` (Vertex AI streamFunctionCallArguments). */
interface StreamedCall { index: number; callId: string; name: string; args: Json; openString: string | null }

const CONTENT_FILTER = new Set(['SAFETY', 'RECITATION', 'PROHIBITED_CONTENT', 'BLOCKLIST', 'SPII', 'IMAGE_SAFETY', 'IMAGE_PROHIBITED_CONTENT', 'MODEL_ARMOR']);

export function usageOf(u: UsageMetadata | null): Usage | null {
  if (!u) return null;
  const thoughts = u.thoughtsTokenCount ?? 0;
  return makeUsage(u.promptTokenCount ?? 0, u.cachedContentTokenCount ?? 0, (u.candidatesTokenCount ?? 0) + thoughts, thoughts);
}

export class GeminiStreamMapper implements StreamMapper {
  private reasoning = -1;
  private reasoningSigs: SignatureRef[] = [];
  private message = -1;
  /** The id of the last message item, open or done: a text signature belongs to it. */
  private messageId = '';
  private call: StreamedCall | null = null;
  /** The signature of a thought part: it belongs to the next visible part. */
  private pendingSig: string | null = null;
  private finishReason: string | null = null;
  /** Candidate.finishMessage: Gemini's explanation of an abnormal finishReason. */
  private finishDetail = '';
  private blockReason: string | null = null;
  private usage: UsageMetadata | null = null;
  constructor(private readonly out: OutputBuilder) {}

  onEvent(_event: string | undefined, data: string): void {
    const doc = JSON.parse(data) as Chunk | Chunk[];
    for (const chunk of Array.isArray(doc) ? doc : [doc]) this.onChunk(chunk);
  }

  onEnd(): void {
    if (this.out.terminal) return;
    if (this.blockReason) {
      this.out.completed(usageOf(this.usage), 'content_filter');
      return;
    }
    // No finishReason: the stream was cut. Leave the terminal unset; the worker fails the response.
    if (!this.finishReason) return;
    this.finishCall();
    if (this.pendingSig && this.messageId) this.addSignature({ sig: this.pendingSig, msg_id: this.messageId });
    const reason = this.finishReason;
    if (reason === 'STOP') this.out.completed(usageOf(this.usage));
    else if (reason === 'MAX_TOKENS') this.out.completed(usageOf(this.usage), 'max_output_tokens');
    else if (CONTENT_FILTER.has(reason)) this.out.completed(usageOf(this.usage), 'content_filter');
    else {
      const what = reason === 'MALFORMED_FUNCTION_CALL' ? 'the model produced a malformed function call' : `generation stopped (finishReason ${reason})`;
      const detail = this.finishDetail ? `${what}: ${this.finishDetail}` : what;
      this.fail(streamFailure(NAME, `${detail}. Retry the request.`, true, reason === 'MALFORMED_FUNCTION_CALL' ? 'malformed_function_call' : 'upstream_error'));
    }
  }

  private onChunk(chunk: Chunk): void {
    if (chunk.error) {
      const status = chunk.error.code ?? 500;
      const retryable = status === 429 || status >= 500;
      this.fail(streamFailure(NAME, `${chunk.error.status ?? status}: ${chunk.error.message ?? 'error inside the stream'}`, retryable));
      return;
    }
    if (chunk.usageMetadata) this.usage = chunk.usageMetadata;
    if (chunk.promptFeedback?.blockReason) this.blockReason = chunk.promptFeedback.blockReason;
    const candidate = chunk.candidates?.[0];
    if (!candidate) return;
    for (const part of candidate.content?.parts ?? []) this.onPart(part);
    if (candidate.finishReason) this.finishReason = candidate.finishReason;
    if (candidate.finishMessage) this.finishDetail = candidate.finishMessage;
  }

  private onPart(part: Part): void {
    if (part.thought === true) {
      this.finishMessage();
      if (this.reasoning < 0) this.reasoning = this.out.startReasoning();
      this.out.appendReasoning(this.reasoning, part.text ?? '');
      if (part.thoughtSignature) this.pendingSig = part.thoughtSignature;
      return;
    }
    const sig = part.thoughtSignature ?? null;
    if (part.functionCall) {
      this.onFunctionCall(part.functionCall, sig);
      return;
    }
    if (typeof part.text !== 'string') return; // inlineData, executableCode…: not part of a Codex turn
    const textSig = sig ?? (part.text !== '' ? this.takePending() : null);
    if (part.text !== '' && this.message < 0) {
      // A new message: its signature goes into the reasoning item before it, which is then done.
      this.messageId = this.out.newId('msg');
      if (textSig) this.addSignature({ sig: textSig, msg_id: this.messageId });
      this.finishReasoning();
      this.message = this.out.startMessage(this.messageId);
    } else if (textSig && this.messageId) {
      // A signature on later text (often an empty last part) belongs to the message; with no message
      // there is no part to put it back on.
      this.addSignature({ sig: textSig, msg_id: this.messageId });
    }
    this.out.appendText(this.message, part.text);
  }

  private onFunctionCall(fc: FunctionCallPart, sig: string | null): void {
    if (this.call) {
      if (fc.name === undefined) {
        this.applyPartialArgs(this.call, fc.partialArgs);
        if (!fc.willContinue) this.finishCall();
        return;
      }
      this.finishCall();
    }
    if (!fc.name) return; // a stray closing `functionCall: {}`
    const callId = fc.id || this.out.newId('call');
    // Items keep Gemini's part order: text before the call is done before it.
    this.finishMessage();
    const signature = sig ?? this.takePending();
    if (signature) this.addSignature({ sig: signature, call_id: callId });
    this.finishReasoning();
    const index = this.out.startToolCall(callId, fc.name);
    this.call = { index, callId, name: fc.name, args: isObject(fc.args) ? { ...fc.args } : {}, openString: null };
    this.applyPartialArgs(this.call, fc.partialArgs);
    if (!fc.willContinue) this.finishCall();
  }

  private applyPartialArgs(call: StreamedCall, partials: PartialArg[] | undefined): void {
    for (const p of partials ?? []) {
      if (typeof p.jsonPath !== 'string') continue;
      const path = parseJsonPath(p.jsonPath);
      if (!path) continue;
      let value: unknown;
      if (typeof p.stringValue === 'string') {
        // A string arrives in pieces while willContinue is set on the previous piece of the same path.
        const prior = call.openString === p.jsonPath ? getPath(call.args, path) : undefined;
        value = (typeof prior === 'string' ? prior : '') + p.stringValue;
      } else if (typeof p.numberValue === 'number') value = p.numberValue;
      else if (typeof p.boolValue === 'boolean') value = p.boolValue;
      else if ('nullValue' in p) value = null;
      else continue;
      setPath(call.args, path, value);
      call.openString = typeof p.stringValue === 'string' && p.willContinue ? p.jsonPath : null;
    }
  }

  private finishCall(): void {
    const call = this.call;
    if (!call) return;
    this.call = null;
    const args = JSON.stringify(call.args);
    this.out.appendArguments(call.index, args);
    this.out.finish(call.index);
  }

  /** Signatures go into the open reasoning item, or a new one placed before the part they sign. */
  private addSignature(ref: SignatureRef): void {
    if (this.reasoning < 0) this.reasoning = this.out.startReasoning();
    this.reasoningSigs.push(ref);
    this.out.setEncryptedContent(this.reasoning, encodeGeminiState(this.reasoningSigs));
  }

  /** A message is text parts in a row; any other part ends it (its id stays for a late signature). */
  private finishMessage(): void {
    if (this.message < 0) return;
    this.out.finish(this.message);
    this.message = -1;
  }

  private finishReasoning(): void {
    if (this.reasoning < 0) return;
    this.out.finish(this.reasoning);
    this.reasoning = -1;
    this.reasoningSigs = [];
  }

  private takePending(): string | null {
    const sig = this.pendingSig;
    this.pendingSig = null;
    return sig;
  }

  private fail(f: UpstreamFailure): void {
    this.out.failed(f.error, f.httpStatus, f.retryable, f.retryAfterSeconds);
  }
}

type PathKey = string | number;

/** `$.a.b[0]['c d']` → ['a', 'b', 0, 'c d'] (the JSONPath subset used by partialArgs), or null. */
export function parseJsonPath(path: string): PathKey[] | null {
  if (!path.startsWith('$')) return null;
  const keys: PathKey[] = [];
  const re = /\.([^.[\]]+)|\[(\d+)\]|\[(['"])((?:\\.|(?!\3).)*)\3\]/gy;
  re.lastIndex = 1;
  while (re.lastIndex < path.length) {
    const m = re.exec(path);
    if (!m) return null;
    if (m[1] !== undefined) keys.push(m[1]);
    else if (m[2] !== undefined) keys.push(Number(m[2]));
    else keys.push(m[4].replace(/\\(.)/g, '$1'));
  }
  return keys.length > 0 ? keys : null;
}

function getPath(root: Json, path: PathKey[]): unknown {
  let node: unknown = root;
  for (const key of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<PathKey, unknown>)[key];
  }
  return node;
}

function setPath(root: Json, path: PathKey[], value: unknown): void {
  let node: Record<PathKey, unknown> = root;
  path.forEach((key, i) => {
    if (i === path.length - 1) {
      node[key] = value;
      return;
    }
    const next = node[key];
    if (next === null || typeof next !== 'object') node[key] = typeof path[i + 1] === 'number' ? [] : {};
    node = node[key] as Record<PathKey, unknown>;
  });
}

// ---------------------------------------------------------------------------------------------
// Errors

interface GoogleError { code?: number; message?: string; status?: string; details?: Array<{ '@type'?: string; retryDelay?: string; reason?: string }> }

/** Google's `{"error":{code,message,status,details}}` body (also sent wrapped in an array). */
export function parseGoogleError(body: string): GoogleError | null {
  try {
    const doc = JSON.parse(body) as { error?: GoogleError } | Array<{ error?: GoogleError }>;
    const err = Array.isArray(doc) ? doc[0]?.error : doc.error;
    return err && typeof err === 'object' ? err : null;
  } catch {
    return null;
  }
}

/** RetryInfo.retryDelay ("34.4s") in whole seconds. */
function retryDelaySeconds(err: GoogleError | null): number | null {
  const delay = err?.details?.find((d) => String(d['@type']).endsWith('google.rpc.RetryInfo'))?.retryDelay;
  const m = typeof delay === 'string' ? /^(\d+(?:\.\d+)?)s$/.exec(delay) : null;
  return m ? Math.max(1, Math.ceil(Number(m[1]))) : null;
}

export const gemini: ProviderAdapter = {
  family: 'gemini',
  buildRequest,
  createStreamMapper: (out) => new GeminiStreamMapper(out),
  mapError(status, headers, body) {
    const err = parseGoogleError(body);
    const message = err?.message ?? body.slice(0, 500).trim();
    // An invalid key is a 400 INVALID_ARGUMENT on this API: treat it as the auth failure it is.
    const badKey = err?.details?.some((d) => d.reason === 'API_KEY_INVALID') ?? false;
    return httpFailure(NAME, badKey ? 401 : status, message, retryAfterSeconds(headers) ?? retryDelaySeconds(err), err?.status ?? null);
  },
};
