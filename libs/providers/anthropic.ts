// anthropic: the Anthropic Messages API (`POST {base_url}/messages`, SSE). The request mapper turns a
// Responses request into a Messages request (developer messages → `system`, tool calls and outputs →
// paired `tool_use`/`tool_result` blocks, freeform tools → one-string-argument functions, effort →
// thinking budget); the stream mapper turns Anthropic's content blocks into Responses output items.
import type {
  ContentPart, CustomTool, CustomToolCallItem, CustomToolCallOutputItem, FunctionCallItem,
  FunctionCallOutputItem, FunctionTool, InputItem, MessageItem, NamespaceTool, ReasoningItem, ResponsesRequest, Tool,
} from '../protocol/types';
import type { Deployment } from '../routing/catalog';
import { httpFailure, mapJsonError, streamFailure } from './errors';
import { CUSTOM_TOOL_INPUT_PARAM, type OutputBuilder } from './output';
import { decodeState, encodeState } from './reasoning-state';
import { streamingHeaders, upstreamUrl } from './upstream-request';
import type { ProviderAdapter, StreamMapper, UpstreamFailure, UpstreamRequest } from './types';
import { makeUsage } from './usage';

const NAME = 'Anthropic';
export const ANTHROPIC_VERSION = '2023-06-01';
/** `max_tokens` is required by Anthropic; Codex never sends `max_output_tokens`. */
export const DEFAULT_MAX_TOKENS = 32000;
export const DEFAULT_MAX_TOKENS_THINKING = 64000;
/** Anthropic's smallest accepted thinking budget. */
const MIN_THINKING_BUDGET = 1024;
const THINKING_BUDGET: Readonly<Record<string, number>> = { minimal: 1024, low: 4096, medium: 8192, high: 16384, xhigh: 32000 };
const EMPTY_SCHEMA = { type: 'object', properties: {} };

// ---------------------------------------------------------------------------------------------
// Messages API request shapes (only what RouterHub sends).

interface CacheControl { type: 'ephemeral' }
type ImageSource = { type: 'base64'; media_type: string; data: string } | { type: 'url'; url: string };
export interface TextBlock { type: 'text'; text: string; cache_control?: CacheControl }
export interface ImageBlock { type: 'image'; source: ImageSource; cache_control?: CacheControl }
export interface ToolUseBlock { type: 'tool_use'; id: string; name: string; input: unknown; cache_control?: CacheControl }
export interface ToolResultBlock {
  type: 'tool_result';
  tool_use_id: string;
  content?: string | Array<TextBlock | ImageBlock>;
  is_error?: boolean;
  cache_control?: CacheControl;
}
/** Thinking blocks go back exactly as received (text + signature) and cannot carry cache_control. */
export interface ThinkingBlock { type: 'thinking'; thinking: string; signature: string }
export interface RedactedThinkingBlock { type: 'redacted_thinking'; data: string }
export type AnthropicBlock = TextBlock | ImageBlock | ToolUseBlock | ToolResultBlock | ThinkingBlock | RedactedThinkingBlock;
type CacheableBlock = Exclude<AnthropicBlock, ThinkingBlock | RedactedThinkingBlock>;

export interface AnthropicMessage { role: 'user' | 'assistant'; content: AnthropicBlock[] }
export interface AnthropicTool { name: string; description?: string; input_schema: Record<string, unknown>; cache_control?: CacheControl }
export type AnthropicToolChoice =
  | { type: 'auto' | 'any'; disable_parallel_tool_use?: boolean }
  | { type: 'tool'; name: string; disable_parallel_tool_use?: boolean }
  | { type: 'none' };

export interface AnthropicRequest {
  model: string;
  max_tokens: number;
  stream: true;
  system?: TextBlock[];
  messages: AnthropicMessage[];
  tools?: AnthropicTool[];
  tool_choice?: AnthropicToolChoice;
  thinking?: { type: 'enabled'; budget_tokens: number };
  temperature?: number;
  top_p?: number;
}

// ---------------------------------------------------------------------------------------------
// Reasoning state carried through Codex in `encrypted_content`.

/**
 * What a reasoning item must give back next turn: Anthropic rejects a thinking block whose text or
 * signature changed. Base64 JSON under an `anthropic` key, so other providers' opaque state (which
 * never decodes to this) is recognised as foreign and dropped.
 */
export type AnthropicReasoning = { thinking: string; signature: string } | { redacted: string };

export function encodeReasoning(state: AnthropicReasoning): string {
  return encodeState('anthropic', state);
}

export function decodeReasoning(encrypted: string | null | undefined): ThinkingBlock | RedactedThinkingBlock | null {
  // Not ours (an OpenAI encrypted reasoning blob, another family's state): null.
  const state = decodeState<Record<string, unknown>>('anthropic', encrypted);
  if (typeof state?.thinking === 'string' && typeof state.signature === 'string' && state.signature !== '') {
    return { type: 'thinking', thinking: state.thinking, signature: state.signature };
  }
  if (typeof state?.redacted === 'string') return { type: 'redacted_thinking', data: state.redacted };
  return null;
}

// ---------------------------------------------------------------------------------------------
// Request: Responses → Messages.

export function toAnthropicRequest(req: ResponsesRequest, deployment: Deployment): AnthropicRequest {
  const { system, messages } = toAnthropicMessages(req);
  const tools = toAnthropicTools(req.tools);
  const toolChoice = tools.length > 0 ? toAnthropicToolChoice(req.tool_choice, req.parallel_tool_calls) : undefined;
  const effortBudget = THINKING_BUDGET[req.reasoning?.effort ?? ''] ?? null;
  // The model's cap (from the catalog) bounds the default: Anthropic rejects max_tokens above it.
  const cap = deployment.max_output_tokens ?? Infinity;
  const maxTokens = typeof req.max_output_tokens === 'number' && req.max_output_tokens > 0
    ? req.max_output_tokens
    : Math.min(cap, effortBudget !== null ? DEFAULT_MAX_TOKENS_THINKING : DEFAULT_MAX_TOKENS);
  const budget = effortBudget === null ? null : thinkingBudget(effortBudget, maxTokens, toolChoice, messages);

  const body: AnthropicRequest = { model: deployment.model, max_tokens: maxTokens, stream: true, messages };
  if (system.length > 0) body.system = system;
  if (tools.length > 0) body.tools = tools;
  if (toolChoice) body.tool_choice = toolChoice;
  if (budget !== null) body.thinking = { type: 'enabled', budget_tokens: budget };
  // Thinking accepts no temperature and only top_p ≥ 0.95; recent models reject temperature and top_p together.
  if (typeof req.temperature === 'number' && budget === null) body.temperature = req.temperature;
  else if (typeof req.top_p === 'number' && (budget === null || req.top_p >= 0.95)) body.top_p = req.top_p;
  addCacheBreakpoints(body);
  return body;
}

/**
 * The thinking budget that fits (it must be below max_tokens), or null when Anthropic would reject
 * thinking: with a forced tool choice, or mid tool loop when the assistant turn being continued does
 * not start with its thinking block (history from another provider).
 */
function thinkingBudget(wanted: number, maxTokens: number, choice: AnthropicToolChoice | undefined, messages: AnthropicMessage[]): number | null {
  const budget = wanted < maxTokens ? wanted : Math.max(MIN_THINKING_BUDGET, Math.floor(maxTokens / 2));
  if (budget >= maxTokens) return null;
  if (choice?.type === 'any' || choice?.type === 'tool') return null;
  const lastAssistant = [...messages].reverse().find((m) => m.role === 'assistant');
  if (!lastAssistant || !lastAssistant.content.some((b) => b.type === 'tool_use')) return budget;
  const head = lastAssistant.content[0]?.type;
  return head === 'thinking' || head === 'redacted_thinking' ? budget : null;
}

export function toAnthropicMessages(req: ResponsesRequest): { system: TextBlock[]; messages: AnthropicMessage[] } {
  const system: TextBlock[] = [];
  if (req.instructions) system.push(...textBlocks(req.instructions));
  const items: InputItem[] = typeof req.input === 'string' ? [{ type: 'message', role: 'user', content: req.input }] : req.input ?? [];
  const messages: AnthropicMessage[] = [];
  // Anthropic requires alternating roles: consecutive items of one role become one turn.
  const push = (role: AnthropicMessage['role'], blocks: AnthropicBlock[]): void => {
    if (blocks.length === 0) return;
    const last = messages[messages.length - 1];
    if (last?.role === role) last.content.push(...blocks);
    else messages.push({ role, content: blocks });
  };
  for (const item of items) {
    switch (item.type) {
      case 'message': {
        const m = item as MessageItem;
        // Codex sends its system prompt as developer messages, not `instructions` (CODEX-CONTRACT 1.2).
        if (m.role === 'developer' || m.role === 'system') system.push(...textBlocks(m.content));
        else push(m.role === 'assistant' ? 'assistant' : 'user', contentBlocks(m.content));
        break;
      }
      case 'function_call': {
        const c = item as FunctionCallItem;
        push('assistant', [{ type: 'tool_use', id: toolUseId(c.call_id), name: c.name, input: parseArguments(c.arguments) }]);
        break;
      }
      case 'custom_tool_call': {
        const c = item as CustomToolCallItem;
        push('assistant', [{ type: 'tool_use', id: toolUseId(c.call_id), name: c.name, input: { [CUSTOM_TOOL_INPUT_PARAM]: c.input } }]);
        break;
      }
      case 'function_call_output':
      case 'custom_tool_call_output': {
        const o = item as FunctionCallOutputItem | CustomToolCallOutputItem;
        push('user', [toolResult(toolUseId(o.call_id), o.output)]);
        break;
      }
      case 'reasoning': {
        const block = decodeReasoning((item as ReasoningItem).encrypted_content);
        if (block) push('assistant', [block]);
        break;
      }
      default:
        // local_shell_call, web_search_call, tool_search_*, compaction…: nothing Anthropic can take.
        break;
    }
  }
  return { system, messages: pairToolCalls(messages) };
}

/**
 * Every tool_use needs its tool_result first in the next user turn, and every tool_result needs its
 * tool_use in the turn just before. History can break this (an interrupted turn, a dropped item).
 */
function pairToolCalls(messages: AnthropicMessage[]): AnthropicMessage[] {
  const out: AnthropicMessage[] = [];
  let pending: string[] = [];
  for (const m of messages) {
    if (m.role === 'assistant') {
      out.push(m);
      pending = m.content.filter((b): b is ToolUseBlock => b.type === 'tool_use').map((b) => b.id);
      continue;
    }
    const results: AnthropicBlock[] = [];
    const rest: AnthropicBlock[] = [];
    for (const b of m.content) {
      if (b.type !== 'tool_result') rest.push(b);
      else if (pending.includes(b.tool_use_id) && !results.some((r) => r.type === 'tool_result' && r.tool_use_id === b.tool_use_id)) results.push(b);
      else rest.push(orphanResult(b));
    }
    out.push({ role: 'user', content: [...results, ...missingResults(pending, results), ...rest] });
    pending = [];
  }
  if (pending.length > 0) out.push({ role: 'user', content: missingResults(pending, []) });
  return out;
}

function missingResults(pending: string[], results: AnthropicBlock[]): ToolResultBlock[] {
  const answered = new Set(results.map((r) => (r as ToolResultBlock).tool_use_id));
  return pending.filter((id) => !answered.has(id)).map((id) => ({ type: 'tool_result', tool_use_id: id, content: 'No output: the call was not run.', is_error: true }));
}

function orphanResult(b: ToolResultBlock): TextBlock {
  const content = typeof b.content === 'string' ? b.content : (b.content ?? []).map((c) => (c.type === 'text' ? c.text : '')).join('\n');
  return { type: 'text', text: `Output of tool call ${b.tool_use_id}:\n${content || '(empty)'}` };
}

/** Anthropic tool_use ids must match ^[a-zA-Z0-9_-]+$; ids from other providers may not. */
function toolUseId(callId: string): string {
  return callId.replace(/[^a-zA-Z0-9_-]/g, '_') || 'call';
}

function parseArguments(args: string): unknown {
  try {
    const parsed = JSON.parse(args) as unknown;
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed;
  } catch {
    // A model that produced broken JSON: the call still has to go back, with no arguments.
  }
  return {};
}

function toolResult(id: string, output: string | ContentPart[]): ToolResultBlock {
  const content = typeof output === 'string' ? output : contentBlocks(output);
  // An empty text would be rejected; an absent `content` means "no output".
  return content.length > 0 ? { type: 'tool_result', tool_use_id: id, content } : { type: 'tool_result', tool_use_id: id };
}

function textBlocks(content: string | ContentPart[]): TextBlock[] {
  return contentBlocks(content).filter((b): b is TextBlock => b.type === 'text');
}

function contentBlocks(content: string | ContentPart[]): Array<TextBlock | ImageBlock> {
  const parts: ContentPart[] = typeof content === 'string' ? [{ type: 'input_text', text: content }] : content;
  const blocks: Array<TextBlock | ImageBlock> = [];
  for (const part of parts) {
    const text = (part as { text?: unknown }).text;
    // Anthropic rejects empty and whitespace-only text blocks.
    if (typeof text === 'string') {
      if (text.trim() !== '') blocks.push({ type: 'text', text });
    } else if (part.type === 'input_image') {
      const image = imageBlock((part as { image_url?: unknown }).image_url);
      if (image) blocks.push(image);
    }
  }
  return blocks;
}

function imageBlock(url: unknown): ImageBlock | null {
  if (typeof url !== 'string') return null;
  const data = /^data:([^;,]+);base64,(.*)$/s.exec(url);
  if (data) return { type: 'image', source: { type: 'base64', media_type: data[1], data: data[2] } };
  if (/^https?:\/\//i.test(url)) return { type: 'image', source: { type: 'url', url } };
  return null;
}

export function toAnthropicTools(tools: Tool[] | undefined, seen = new Set<string>()): AnthropicTool[] {
  const out: AnthropicTool[] = [];
  for (const tool of tools ?? []) {
    let mapped: AnthropicTool | null = null;
    switch (tool.type) {
      case 'function': {
        const f = tool as FunctionTool;
        mapped = { name: f.name, ...describe(f.description), input_schema: f.parameters ?? EMPTY_SCHEMA };
        break;
      }
      case 'custom':
        mapped = customTool(tool as CustomTool);
        break;
      case 'namespace':
        // Codex calls a namespaced tool by its inner name (with `namespace` beside it), so flatten.
        out.push(...toAnthropicTools((tool as NamespaceTool).tools, seen));
        break;
      default:
        // web_search, tool_search, image_generation…: hosted tools that no Anthropic call can serve.
        break;
    }
    // Anthropic rejects duplicate tool names.
    if (mapped && !seen.has(mapped.name)) {
      seen.add(mapped.name);
      out.push(mapped);
    }
  }
  return out;
}

function describe(description: string | undefined): { description?: string } {
  return description ? { description } : {};
}

/** A freeform tool (apply_patch) as a function with one string argument; the stream maps it back. */
function customTool(tool: CustomTool): AnthropicTool {
  const grammar = tool.format?.type === 'grammar' ? `\n\nThe text must follow this ${tool.format.syntax} grammar:\n${tool.format.definition}` : '';
  const inputDescription = `The whole raw text input of ${tool.name} (e.g. for apply_patch the full patch, from "*** Begin Patch" to "*** End Patch"), verbatim.`;
  return {
    name: tool.name,
    // The tool's own description may say "freeform, not JSON": here it is a function, so say where the text goes.
    description: `${tool.description ?? ''}\n\nCall this tool with one argument, "${CUSTOM_TOOL_INPUT_PARAM}": a string holding the raw text (e.g. the full patch) exactly as the tool expects it.${grammar}`.trim(),
    input_schema: { type: 'object', properties: { [CUSTOM_TOOL_INPUT_PARAM]: { type: 'string', description: inputDescription } }, required: [CUSTOM_TOOL_INPUT_PARAM] },
  };
}

export function toAnthropicToolChoice(choice: ResponsesRequest['tool_choice'], parallel: boolean | undefined): AnthropicToolChoice {
  const single = parallel === false ? { disable_parallel_tool_use: true } : {};
  if (choice === 'none') return { type: 'none' };
  if (choice === 'required') return { type: 'any', ...single };
  if (typeof choice === 'object' && typeof choice.name === 'string' && (choice.type === 'function' || choice.type === 'custom')) {
    return { type: 'tool', name: choice.name, ...single };
  }
  return { type: 'auto', ...single };
}

/**
 * Prompt caching: breakpoints on the stable prefix (tools, then system) and on the conversation so
 * far, so that the next turn of the same thread reads it back (3 of Anthropic's 4 breakpoints).
 */
function addCacheBreakpoints(body: AnthropicRequest): void {
  const mark: CacheControl = { type: 'ephemeral' };
  const lastTool = body.tools?.[body.tools.length - 1];
  if (lastTool) lastTool.cache_control = mark;
  const lastSystem = body.system?.[body.system.length - 1];
  if (lastSystem) lastSystem.cache_control = mark;
  const lastMessage = body.messages[body.messages.length - 1];
  const lastBlock = lastMessage?.content.filter((b): b is CacheableBlock => b.type !== 'thinking' && b.type !== 'redacted_thinking').pop();
  if (lastBlock) lastBlock.cache_control = mark;
}

export function buildRequest(req: ResponsesRequest, deployment: Deployment, apiKey: string): UpstreamRequest {
  const headers = streamingHeaders(deployment, apiKey ? { 'x-api-key': apiKey } : null);
  headers['anthropic-version'] ??= ANTHROPIC_VERSION;
  return { url: upstreamUrl(deployment, '/messages'), headers, body: JSON.stringify(toAnthropicRequest(req, deployment)) };
}

// ---------------------------------------------------------------------------------------------
// Stream: Messages SSE → output items.

interface AnthropicUsage {
  input_tokens?: number | null;
  cache_read_input_tokens?: number | null;
  cache_creation_input_tokens?: number | null;
  output_tokens?: number | null;
  output_tokens_details?: { thinking_tokens?: number | null } | null;
}

interface StartedBlock {
  type: string;
  id?: string;
  name?: string;
  input?: unknown;
  text?: string;
  thinking?: string;
  signature?: string;
  data?: string;
}

interface BlockDelta { type: string; text?: string; partial_json?: string; thinking?: string; signature?: string }

type AnthropicEvent =
  | { type: 'message_start'; message?: { usage?: AnthropicUsage | null } }
  | { type: 'content_block_start'; index: number; content_block: StartedBlock }
  | { type: 'content_block_delta'; index: number; delta: BlockDelta }
  | { type: 'content_block_stop'; index: number }
  | { type: 'message_delta'; delta?: { stop_reason?: string | null }; usage?: AnthropicUsage | null }
  | { type: 'message_stop' }
  | { type: 'ping' }
  | { type: 'error'; error?: { type?: string; message?: string } };

/** An Anthropic content block in progress and the output item it feeds. */
type OpenBlock =
  | { kind: 'item'; at: number }
  | { kind: 'tool'; at: number; args: boolean; initialInput: unknown }
  | { kind: 'thinking'; at: number; thinking: string; signature: string }
  | { kind: 'ignored' };

const INCOMPLETE_REASON: Readonly<Record<string, string>> = {
  max_tokens: 'max_output_tokens',
  model_context_window_exceeded: 'max_output_tokens',
  refusal: 'content_filter',
};

export class AnthropicStreamMapper implements StreamMapper {
  private readonly blocks = new Map<number, OpenBlock>();
  private readonly usage = { input: 0, cacheRead: 0, cacheWrite: 0, output: 0, thinking: 0 };
  private stopReason: string | null = null;

  constructor(private readonly out: OutputBuilder) {}

  onEvent(_event: string | undefined, data: string): void {
    const ev = JSON.parse(data) as AnthropicEvent;
    switch (ev.type) {
      case 'message_start':
        this.addUsage(ev.message?.usage);
        return;
      case 'content_block_start':
        this.blocks.set(ev.index, this.start(ev.content_block));
        return;
      case 'content_block_delta':
        this.delta(this.blocks.get(ev.index), ev.delta);
        return;
      case 'content_block_stop':
        this.stop(this.blocks.get(ev.index));
        this.blocks.delete(ev.index);
        return;
      case 'message_delta':
        this.stopReason = ev.delta?.stop_reason ?? this.stopReason;
        this.addUsage(ev.usage);
        return;
      case 'message_stop':
        this.complete();
        return;
      case 'error':
        this.fail(ev.error?.type ?? 'api_error', ev.error?.message ?? 'the stream reported an error');
        return;
      case 'ping':
        return;
      default:
        // Anthropic may add event types (its streaming docs say to handle unknown ones gracefully).
        return;
    }
  }

  onEnd(): void {
    // A stop_reason means the answer is whole even if message_stop was lost with the connection.
    if (!this.out.terminal && this.stopReason !== null) this.complete();
  }

  private start(block: StartedBlock): OpenBlock {
    switch (block.type) {
      case 'text': {
        const at = this.out.startMessage();
        this.out.appendText(at, block.text ?? '');
        return { kind: 'item', at };
      }
      case 'tool_use':
        // startToolCall: a call to one of the request's custom tools comes back as a custom_tool_call.
        return { kind: 'tool', at: this.out.startToolCall(block.id ?? this.out.newId('toolu'), block.name ?? ''), args: false, initialInput: block.input };
      case 'thinking': {
        const at = this.out.startReasoning();
        this.out.appendReasoning(at, block.thinking ?? '');
        return { kind: 'thinking', at, thinking: block.thinking ?? '', signature: block.signature ?? '' };
      }
      case 'redacted_thinking': {
        // Encrypted thinking: nothing to show, but it must go back next turn.
        const at = this.out.startReasoning();
        this.out.setEncryptedContent(at, encodeReasoning({ redacted: block.data ?? '' }));
        return { kind: 'item', at };
      }
      default:
        // server_tool_use, web_search_tool_result, *_tool_result…: Anthropic ran these itself.
        return { kind: 'ignored' };
    }
  }

  private delta(open: OpenBlock | undefined, delta: BlockDelta): void {
    if (!open || open.kind === 'ignored') return;
    switch (delta.type) {
      case 'text_delta':
        this.out.appendText(open.at, delta.text ?? '');
        return;
      case 'input_json_delta':
        if (open.kind !== 'tool') return;
        open.args ||= (delta.partial_json ?? '') !== '';
        this.out.appendArguments(open.at, delta.partial_json ?? '');
        return;
      case 'thinking_delta':
        if (open.kind !== 'thinking') return;
        open.thinking += delta.thinking ?? '';
        this.out.appendReasoning(open.at, delta.thinking ?? '');
        return;
      case 'signature_delta':
        if (open.kind === 'thinking') open.signature += delta.signature ?? '';
        return;
      default:
        // citations_delta and future delta types carry nothing for a Codex turn.
        return;
    }
  }

  private stop(open: OpenBlock | undefined): void {
    if (!open || open.kind === 'ignored') return;
    if (open.kind === 'tool' && !open.args && isNonEmptyObject(open.initialInput)) {
      // Input given whole in content_block_start (no deltas): it is the arguments.
      this.out.appendArguments(open.at, JSON.stringify(open.initialInput));
    }
    if (open.kind === 'thinking' && open.signature !== '') {
      this.out.setEncryptedContent(open.at, encodeReasoning({ thinking: open.thinking, signature: open.signature }));
    }
    this.out.finish(open.at);
  }

  private addUsage(u: AnthropicUsage | null | undefined): void {
    if (!u) return;
    // Fields can come in message_start and again in message_delta; the later values are cumulative.
    const s = this.usage;
    s.input = Math.max(s.input, u.input_tokens ?? 0);
    s.cacheRead = Math.max(s.cacheRead, u.cache_read_input_tokens ?? 0);
    s.cacheWrite = Math.max(s.cacheWrite, u.cache_creation_input_tokens ?? 0);
    s.output = Math.max(s.output, u.output_tokens ?? 0);
    s.thinking = Math.max(s.thinking, u.output_tokens_details?.thinking_tokens ?? 0);
  }

  private complete(): void {
    const s = this.usage;
    // Responses semantics: input includes the cached (read and written) tokens.
    const usage = makeUsage(s.input + s.cacheRead + s.cacheWrite, s.cacheRead, s.output, s.thinking);
    this.out.completed(usage, INCOMPLETE_REASON[this.stopReason ?? ''] ?? null);
  }

  private fail(type: string, message: string): void {
    const f = streamErrorFailure(type, message);
    this.out.failed(f.error, f.httpStatus, f.retryable);
  }
}

/** An in-stream `error` event (https://docs.anthropic.com/en/api/errors) in terms Codex understands. */
export function streamErrorFailure(type: string, message: string): UpstreamFailure {
  const said = `${message} (${type})`;
  switch (type) {
    case 'overloaded_error':
      return streamFailure(NAME, `${said}. Anthropic is overloaded; retry shortly or use another model.`, true, 'server_is_overloaded', 503);
    case 'rate_limit_error':
      return streamFailure(NAME, `${said}. Anthropic is rate limiting this deployment; retry shortly.`, true, 'rate_limit_exceeded', 429);
    case 'api_error':
      return streamFailure(NAME, `${said}. Anthropic had an internal error; retry the request.`, true);
    default:
      // invalid_request_error and the like (a prompt that is too long, say): a retry gets the same answer.
      return httpFailure(NAME, 400, message, null, type);
  }
}

function isNonEmptyObject(v: unknown): boolean {
  return typeof v === 'object' && v !== null && Object.keys(v).length > 0;
}

export const anthropic: ProviderAdapter = {
  family: 'anthropic',
  buildRequest,
  createStreamMapper: (out) => new AnthropicStreamMapper(out),
  // Anthropic's body is {"type":"error","error":{"type","message"}}: error.type is read as the code.
  mapError: mapJsonError(NAME),
};
