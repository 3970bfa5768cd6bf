// gemini request mapper: a Responses request becomes `contents` + `systemInstruction` +
// `functionDeclarations` + `generationConfig` for `models/{model}:streamGenerateContent?alt=sse`.
import type {
  ContentPart, FunctionTool, InputItem, MessageItem, NamespaceTool, ResponsesRequest, Tool,
} from '../../protocol/types';
import type { Deployment } from '../../routing/catalog';
import { contentParts, inputItems, parseArgumentsObject, rejectItem, textOnly, type InputPart, type MediaSource } from '../input';
import { CUSTOM_TOOL_INPUT_PARAM } from '../output';
import { streamingHeaders, upstreamUrl } from '../upstream-request';
import type { UpstreamRequest } from '../types';
import { cleanSchema, isObject, type Json } from './schema';
import { decodeGeminiState } from './state';

const FAMILY = 'gemini';
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

/** Text parts as Gemini parts; images and files as `inlineData` (bytes) or `fileData` (a URL). */
function geminiParts(parts: InputPart[]): GeminiPart[] {
  const out: GeminiPart[] = [];
  for (const part of parts) {
    if (part.kind === 'text') {
      if (part.text !== '') out.push({ text: part.text });
    } else {
      out.push(mediaPart(part.source));
    }
  }
  return out;
}

function mediaPart(source: MediaSource): GeminiPart {
  if (source.kind === 'base64') return { inlineData: { mimeType: source.mediaType, data: source.data } };
  const mimeType = mediaTypeOfUrl(source.url);
  return { fileData: mimeType ? { mimeType, fileUri: source.url } : { fileUri: source.url } };
}

/** Gemini wants the media type of a `fileData` URI: guessed from its extension. */
function mediaTypeOfUrl(url: string): string | undefined {
  const ext = /\.(png|jpe?g|webp|gif|heic|heif|pdf|txt)(\?|$)/i.exec(url)?.[1].toLowerCase();
  if (!ext) return undefined;
  if (ext === 'pdf') return 'application/pdf';
  if (ext === 'txt') return 'text/plain';
  return `image/${ext === 'jpg' ? 'jpeg' : ext}`;
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

/** A tool result: text goes into `response.output`; images and files follow as their own parts. */
function functionResponseParts(name: string, callId: string, output: InputPart[]): GeminiPart[] {
  const id = geminiCallId(callId);
  const response = { output: textOf(output) };
  return [{ functionResponse: id ? { name, response, id } : { name, response } }, ...geminiParts(output.filter((p) => p.kind !== 'text'))];
}

function textOf(parts: InputPart[]): string {
  return parts.map((p) => (p.kind === 'text' ? p.text : '')).join('');
}

export function toGeminiRequest(req: ResponsesRequest, deployment: Deployment): Json {
  const items: InputItem[] = inputItems(req);

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

  for (const [index, item] of items.entries()) {
    switch (item.type) {
      case 'message': {
        const msg = item as MessageItem;
        const at = `input[${index}].content`;
        const content = contentParts(msg.content, at, FAMILY);
        if (msg.role === 'developer' || msg.role === 'system') {
          system.push(...textOnly(content, at, FAMILY, 'the system instruction').filter((text) => text !== '').map((text) => ({ text })));
          break;
        }
        const parts = geminiParts(content);
        if (msg.role === 'assistant') {
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
        push('model', [functionCallPart(String(item.name), parseArgumentsObject(item.arguments), String(item.call_id), sigs)]);
        break;
      case 'custom_tool_call':
        push('model', [functionCallPart(String(item.name), { [CUSTOM_TOOL_INPUT_PARAM]: String(item.input ?? '') }, String(item.call_id), sigs)]);
        break;
      case 'function_call_output':
      case 'custom_tool_call_output': {
        const callId = String(item.call_id);
        const output = contentParts((item.output ?? '') as string | ContentPart[], `input[${index}].output`, FAMILY);
        const name = callNames.get(callId);
        // A result whose call is not in the history cannot be a functionResponse: keep it as text.
        if (name) push('user', functionResponseParts(name, callId, output));
        else push('user', [{ text: `Tool output (${callId}):\n${textOf(output)}` }]);
        break;
      }
      case 'reasoning':
        break; // its signatures are applied above
      default:
        rejectItem(item, index, FAMILY);
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
  // Explicit caching (a deployment's prompt_cache) is context-cache.ts.
  return body;
}

/** What a `cachedContents` entry holds: the system instruction, tools and tool config, and the first `contents` contents. */
export interface CachedPrefix { name: string; contents: number }

/** The request fields a cachedContent replaces: Gemini refuses them beside one. */
export const CACHED_FIELDS = ['systemInstruction', 'tools', 'toolConfig'] as const;

/** `body` reading its prefix from the cache `cached` names: only the contents after it are sent. */
export function withCachedContent(body: Json, cached: CachedPrefix): Json {
  const out: Json = { ...body, contents: (body.contents as Json[]).slice(cached.contents), cachedContent: cached.name };
  for (const field of CACHED_FIELDS) delete out[field];
  return out;
}

/** The HTTP request for a mapped body, reading its prefix from `cached` when one is given. */
export function geminiUpstreamRequest(body: Json, deployment: Deployment, apiKey: string, cached?: CachedPrefix): UpstreamRequest {
  const headers = streamingHeaders(deployment, apiKey ? { 'x-goog-api-key': apiKey } : null);
  const url = upstreamUrl(deployment, `/models/${deployment.model}:streamGenerateContent?alt=sse`, 'v1beta');
  return { url, headers, body: JSON.stringify(cached ? withCachedContent(body, cached) : body) };
}

export function buildRequest(req: ResponsesRequest, deployment: Deployment, apiKey: string, cached?: CachedPrefix): UpstreamRequest {
  return geminiUpstreamRequest(toGeminiRequest(req, deployment), deployment, apiKey, cached);
}
