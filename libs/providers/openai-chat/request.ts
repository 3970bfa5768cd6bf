// openai-chat request mapper: a Responses request becomes a Chat Completions `messages` list plus
// function tools, for OpenAI itself and compatible servers (vLLM, Ollama, DeepSeek, Groq, OpenRouter…).
import type { ContentPart, CustomTool, FunctionTool, InputItem, MessageItem, ReasoningItem, ResponsesRequest, Tool } from '../../protocol/types';
import type { Deployment } from '../../routing/catalog';
import { contentParts, inputItems, rejectItem, sourceUrl, textOnly, type InputPart } from '../input';
import { unsupportedInput } from '../../protocol/errors';
import { CUSTOM_TOOL_INPUT_PARAM } from '../output';
import { decodeState } from '../reasoning-state';
import { openaiSdkVersion, streamingHeaders, upstreamUrl } from '../upstream-request';
import type { UpstreamRequest } from '../types';
import type { ChatReasoningState } from './state';

const FAMILY = 'openai-chat';
type ChatImagePart = { type: 'image_url'; image_url: { url: string; detail?: string } };
/** A PDF (Chat Completions reads no other files, and only as bytes). */
type ChatFilePart = { type: 'file'; file: { file_data: string; filename: string } };
type ChatAttachment = ChatImagePart | ChatFilePart;
export type ChatContentPart = { type: 'text'; text: string } | ChatAttachment;
export interface ChatToolCall { id: string; type: 'function'; function: { name: string; arguments: string } }
export type ChatMessage =
  | { role: 'system'; content: string }
  | { role: 'user'; content: string | ChatContentPart[] }
  | { role: 'assistant'; content: string | null; tool_calls?: ChatToolCall[]; reasoning_content?: string }
  | { role: 'tool'; tool_call_id: string; content: string };
export interface ChatTool {
  type: 'function';
  function: { name: string; description?: string; parameters: Record<string, unknown>; strict?: boolean };
}

/** OpenAI itself (and Azure OpenAI): the only upstreams that get OpenAI-only request fields. */
function isOpenAIHost(baseUrl: string): boolean {
  return /^https:\/\/(api\.openai\.com|[^/]+\.openai\.azure\.com)(\/|$)/i.test(baseUrl);
}

export function toChatRequest(req: ResponsesRequest, deployment: Deployment): Record<string, unknown> {
  const openai = isOpenAIHost(deployment.base_url);
  const body: Record<string, unknown> = {
    model: deployment.model,
    messages: toChatMessages(req),
    stream: true,
    stream_options: { include_usage: true },
  };
  const tools = toChatTools(req.tools);
  if (tools.length > 0) {
    body.tools = tools;
    // OpenAI rejects tool_choice / parallel_tool_calls when no tools are sent.
    const choice = toChatToolChoice(req.tool_choice);
    if (choice !== undefined) body.tool_choice = choice;
    if (typeof req.parallel_tool_calls === 'boolean') body.parallel_tool_calls = req.parallel_tool_calls;
  }
  if (typeof req.max_output_tokens === 'number') {
    // OpenAI deprecated max_tokens and rejects it for reasoning models (gpt-5, o-series); many
    // compatible servers (DeepSeek, older vLLM/Ollama) only know max_tokens.
    body[openai ? 'max_completion_tokens' : 'max_tokens'] = req.max_output_tokens;
  }
  if (typeof req.temperature === 'number') body.temperature = req.temperature;
  if (typeof req.top_p === 'number') body.top_p = req.top_p;
  const effort = toReasoningEffort(req.reasoning?.effort);
  if (effort) body.reasoning_effort = effort;
  // prompt_cache_key routes OpenAI's prompt cache (Codex's value is stable per thread). Only OpenAI
  // documents it; strict compatible servers (Groq) reject unknown fields, so others don't get it.
  if (openai && req.prompt_cache_key) body.prompt_cache_key = req.prompt_cache_key;
  const format = toResponseFormat(req.text?.format);
  if (format) body.response_format = format;
  // Not sent: store, include, client_metadata, text.verbosity (OpenAI-only, and a hint at most).
  return body;
}

export function buildRequest(req: ResponsesRequest, deployment: Deployment, apiKey: string): UpstreamRequest {
  // Local servers (vLLM, Ollama) may run without a key.
  const headers = streamingHeaders(deployment, apiKey ? { authorization: `Bearer ${apiKey}` } : null);
  return { url: upstreamUrl(deployment, '/chat/completions', openaiSdkVersion(deployment)), headers, body: JSON.stringify(toChatRequest(req, deployment)) };
}

/**
 * Responses input → Chat messages. Every developer/system text goes into ONE leading system message:
 * Codex sends its system prompt as `developer` input messages, and many compatible servers reject
 * the `developer` role or a system message in the middle of the conversation.
 */
export function toChatMessages(req: ResponsesRequest): ChatMessage[] {
  const system: string[] = [];
  // Reasoning this family produced replays onto the next assistant message in the field the server
  // used; other reasoning items are dropped: Chat has no input form for them.
  let reasoning = '';
  let field: ChatReasoningState['field'] | null = null;
  const withReasoning = (m: ChatMessage): void => {
    if (field && reasoning && m.role === 'assistant') (m as Record<string, unknown>)[field] = String((m as Record<string, unknown>)[field] ?? '') + reasoning;
    reasoning = '';
    field = null;
  };
  if (req.instructions) system.push(req.instructions);
  const messages: ChatMessage[] = [];
  // Chat tool messages carry text only: images (Codex's view_image) and files a tool returned
  // follow the tool messages as a user message.
  let images: ChatAttachment[] = [];
  const flushImages = (): void => {
    if (images.length > 0) messages.push({ role: 'user', content: images });
    images = [];
  };
  const items: InputItem[] = inputItems(req);

  for (const [index, item] of items.entries()) {
    switch (item.type) {
      case 'message': {
        const m = item as MessageItem;
        const at = `input[${index}].content`;
        const parts = contentParts(m.content, at, FAMILY);
        if (m.role === 'developer' || m.role === 'system') {
          const text = joinTexts(textOnly(parts, at, FAMILY, 'the system message'));
          if (text) system.push(text);
        } else if (m.role === 'user') {
          flushImages();
          reasoning = '';
          messages.push({ role: 'user', content: userContent(parts, at) });
        } else if (m.role === 'assistant') {
          flushImages();
          withReasoning(appendAssistantText(messages, joinTexts(textOnly(parts, at, FAMILY, 'an assistant message'))));
        }
        break;
      }
      case 'function_call':
      case 'custom_tool_call': {
        flushImages();
        const call = item as { call_id: string; name: string; arguments?: string; input?: string };
        const args = item.type === 'function_call' ? call.arguments || '{}' : JSON.stringify({ [CUSTOM_TOOL_INPUT_PARAM]: call.input ?? '' });
        const assistant = assistantForCalls(messages);
        assistant.tool_calls!.push({ id: call.call_id, type: 'function', function: { name: call.name, arguments: args } });
        withReasoning(assistant);
        break;
      }
      case 'function_call_output':
      case 'custom_tool_call_output': {
        const out = item as { call_id: string; output: string | ContentPart[] };
        const { text, imageParts } = toolOutput(contentParts(out.output, `input[${index}].output`, FAMILY), `input[${index}].output`);
        messages.push({ role: 'tool', tool_call_id: out.call_id, content: text });
        images.push(...imageParts);
        break;
      }
      case 'reasoning': {
        const r = item as ReasoningItem;
        const state = decodeState<ChatReasoningState>('openai-chat', r.encrypted_content);
        if (!state) break;
        field = state.field;
        reasoning += (r.content?.length ? r.content : r.summary ?? []).map((p) => p.text).join('');
        break;
      }
      default:
        rejectItem(item, index, FAMILY);
    }
  }
  flushImages();
  if (system.length > 0) messages.unshift({ role: 'system', content: system.join('\n\n') });
  return messages;
}

type AssistantMessage = Extract<ChatMessage, { role: 'assistant' }>;

/** Consecutive assistant text (commentary, then final answer) becomes one assistant message. */
function appendAssistantText(messages: ChatMessage[], text: string): AssistantMessage {
  const last = messages[messages.length - 1];
  if (last?.role === 'assistant' && !last.tool_calls) {
    last.content = last.content ? `${last.content}\n\n${text}` : text;
    return last;
  }
  const message: AssistantMessage = { role: 'assistant', content: text };
  messages.push(message);
  return message;
}

/** Tool calls join the assistant message right before them (its text, or earlier calls of the batch). */
function assistantForCalls(messages: ChatMessage[]): AssistantMessage {
  const last = messages[messages.length - 1];
  if (last?.role === 'assistant') {
    last.tool_calls ??= [];
    return last;
  }
  const message: AssistantMessage = { role: 'assistant', content: null, tool_calls: [] };
  messages.push(message);
  return message;
}

function joinTexts(texts: string[]): string {
  return texts.filter((t) => t !== '').join('\n\n');
}

function chatPart(part: InputPart, at: string): ChatContentPart {
  if (part.kind === 'text') return { type: 'text', text: part.text };
  return attachment(part, at);
}

function attachment(part: Exclude<InputPart, { kind: 'text' }>, at: string): ChatAttachment {
  if (part.kind === 'image') {
    const detail = part.detail && ['auto', 'low', 'high'].includes(part.detail) ? part.detail : undefined;
    const url = sourceUrl(part.source);
    return { type: 'image_url', image_url: detail ? { url, detail } : { url } };
  }
  const { source } = part;
  if (source.kind === 'url') throw unsupportedInput(at, 'a file given by file_url', FAMILY, 'Chat Completions takes files as bytes only; send file_data as a base64 data: URL');
  if (source.mediaType !== 'application/pdf') throw unsupportedInput(at, `a '${source.mediaType}' file`, FAMILY, 'Chat Completions reads PDF files only; convert the file to PDF or send its text');
  return { type: 'file', file: { file_data: sourceUrl(source), filename: part.filename ?? 'document.pdf' } };
}

function userContent(parts: InputPart[], at: string): string | ChatContentPart[] {
  // Text-only content as a plain string: the form every compatible server accepts.
  if (parts.every((p) => p.kind === 'text')) return joinTexts(parts.map((p) => (p as { text: string }).text));
  return parts.map((p, j) => chatPart(p, `${at}[${j}]`));
}

function toolOutput(parts: InputPart[], at: string): { text: string; imageParts: ChatAttachment[] } {
  const imageParts: ChatAttachment[] = [];
  const texts: string[] = [];
  parts.forEach((p, j) => {
    if (p.kind === 'text') texts.push(p.text);
    else imageParts.push(attachment(p, `${at}[${j}]`));
  });
  let text = texts.filter((t) => t !== '').join('\n');
  if (imageParts.length > 0) text += `${text ? '\n' : ''}(the ${imageParts.every((p) => p.type === 'image_url') ? 'image' : 'attached'} output follows in the next message)`;
  return { text, imageParts };
}

/** Responses tools → Chat function tools. Hosted tools (web_search, tool_search…) cannot run here. */
export function toChatTools(tools: Tool[] | undefined): ChatTool[] {
  const out: ChatTool[] = [];
  for (const t of tools ?? []) {
    if (t.type === 'function') {
      const f = t as FunctionTool;
      const fn: ChatTool['function'] = { name: f.name, parameters: f.parameters ?? { type: 'object', properties: {} } };
      if (f.description) fn.description = f.description;
      // Only strict:true is sent: Codex sends strict:false, and not every server knows the field.
      if (f.strict === true) fn.strict = true;
      out.push({ type: 'function', function: fn });
    } else if (t.type === 'custom') {
      out.push(customAsFunction(t as CustomTool));
    } else if (t.type === 'namespace' && Array.isArray(t.tools)) {
      out.push(...toChatTools(t.tools as Tool[]));
    }
  }
  return out;
}

/**
 * A freeform (custom) tool such as apply_patch as a function with one string parameter. The
 * OutputBuilder turns calls to it back into `custom_tool_call` items with the raw input.
 */
function customAsFunction(t: CustomTool): ChatTool {
  const grammar = t.format && t.format.type === 'grammar' ? `\nThe text must follow this ${t.format.syntax} grammar:\n${t.format.definition}` : '';
  const description =
    `${t.description ?? ''}\n\nHere this tool is called as a function: put the raw text${t.name === 'apply_patch' ? ' (the full patch, from "*** Begin Patch" to "*** End Patch")' : ''} ` +
    `in the string parameter "${CUSTOM_TOOL_INPUT_PARAM}", exactly as it would be written without JSON.${grammar}`;
  return {
    type: 'function',
    function: {
      name: t.name,
      description: description.trim(),
      parameters: {
        type: 'object',
        properties: { [CUSTOM_TOOL_INPUT_PARAM]: { type: 'string', description: `The raw input of ${t.name}.` } },
        required: [CUSTOM_TOOL_INPUT_PARAM],
        additionalProperties: false,
      },
    },
  };
}

function toChatToolChoice(choice: ResponsesRequest['tool_choice']): unknown {
  if (choice === 'auto' || choice === 'none' || choice === 'required') return choice;
  if (choice && (choice.type === 'function' || choice.type === 'custom') && typeof choice.name === 'string') {
    return { type: 'function', function: { name: choice.name } };
  }
  return undefined; // hosted-tool or allowed_tools choices: let the upstream default (auto) apply
}

/** Chat knows minimal/low/medium/high; `none` means "don't reason", which is the default when omitted. */
function toReasoningEffort(effort: string | null | undefined): string | undefined {
  if (effort === 'xhigh') return 'high';
  return effort === 'minimal' || effort === 'low' || effort === 'medium' || effort === 'high' ? effort : undefined;
}

function toResponseFormat(format: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (format?.type === 'json_schema') {
    const { type: _type, ...schema } = format; // Responses: flat {name, schema, strict, description}
    return { type: 'json_schema', json_schema: schema };
  }
  if (format?.type === 'json_object') return { type: 'json_object' };
  return undefined;
}

