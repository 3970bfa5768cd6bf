// anthropic request mapper: a Responses request becomes a Messages request (developer messages →
// `system`, tool calls and outputs → paired `tool_use`/`tool_result` blocks, freeform tools →
// one-string-argument functions, effort → thinking budget, prompt-cache breakpoints).
import type {
  ContentPart, CustomTool, CustomToolCallItem, CustomToolCallOutputItem, FunctionCallItem,
  FunctionCallOutputItem, FunctionTool, InputItem, MessageItem, NamespaceTool, ReasoningItem, ResponsesRequest, Tool,
} from '../../protocol/types';
import type { Deployment } from '../../routing/catalog';
import { contentParts, inputItems, parseArgumentsObject, rejectItem, textOnly, type InputPart } from '../input';
import { unsupportedInput } from '../../protocol/errors';
import { CUSTOM_TOOL_INPUT_PARAM } from '../output';
import { streamingHeaders, upstreamUrl } from '../upstream-request';
import type { UpstreamRequest } from '../types';
import { decodeReasoning } from './state';

const FAMILY = 'anthropic';
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

export interface CacheControl { type: 'ephemeral'; ttl?: '1h' }
type ImageSource = { type: 'base64'; media_type: string; data: string } | { type: 'url'; url: string };
type DocumentSource = ImageSource | { type: 'text'; media_type: 'text/plain'; data: string };
export interface TextBlock { type: 'text'; text: string; cache_control?: CacheControl }
export interface ImageBlock { type: 'image'; source: ImageSource; cache_control?: CacheControl }
/** A PDF or plain-text file (Responses `input_file`). */
export interface DocumentBlock { type: 'document'; source: DocumentSource; title?: string; cache_control?: CacheControl }
type ContentBlock = TextBlock | ImageBlock | DocumentBlock;
export interface ToolUseBlock { type: 'tool_use'; id: string; name: string; input: unknown; cache_control?: CacheControl }
export interface ToolResultBlock {
  type: 'tool_result';
  tool_use_id: string;
  content?: string | ContentBlock[];
  is_error?: boolean;
  cache_control?: CacheControl;
}
/** Thinking blocks go back exactly as received (text + signature) and cannot carry cache_control. */
export interface ThinkingBlock { type: 'thinking'; thinking: string; signature: string }
export interface RedactedThinkingBlock { type: 'redacted_thinking'; data: string }
export type AnthropicBlock = ContentBlock | ToolUseBlock | ToolResultBlock | ThinkingBlock | RedactedThinkingBlock;
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
  addCacheBreakpoints(body, deployment.prompt_cache_ttl);
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
  if (req.instructions) system.push(...textBlocks([req.instructions]));
  const items: InputItem[] = inputItems(req);
  const messages: AnthropicMessage[] = [];
  // Anthropic requires alternating roles: consecutive items of one role become one turn.
  const push = (role: AnthropicMessage['role'], blocks: AnthropicBlock[]): void => {
    if (blocks.length === 0) return;
    const last = messages[messages.length - 1];
    if (last?.role === role) last.content.push(...blocks);
    else messages.push({ role, content: blocks });
  };
  for (const [index, item] of items.entries()) {
    switch (item.type) {
      case 'message': {
        const m = item as MessageItem;
        const at = `input[${index}].content`;
        const parts = contentParts(m.content, at, FAMILY);
        // Codex sends its system prompt as developer messages, not `instructions` (CODEX-CONTRACT 1.2).
        if (m.role === 'developer' || m.role === 'system') system.push(...textBlocks(textOnly(parts, at, FAMILY, 'the system prompt')));
        else push(m.role === 'assistant' ? 'assistant' : 'user', contentBlocks(parts, at));
        break;
      }
      case 'function_call': {
        const c = item as FunctionCallItem;
        push('assistant', [{ type: 'tool_use', id: toolUseId(c.call_id), name: c.name, input: parseArgumentsObject(c.arguments) }]);
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
        push('user', [toolResult(toolUseId(o.call_id), o.output, `input[${index}].output`)]);
        break;
      }
      case 'reasoning': {
        const block = decodeReasoning((item as ReasoningItem).encrypted_content);
        if (block) push('assistant', [block]);
        break;
      }
      default:
        rejectItem(item, index, FAMILY);
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

function toolResult(id: string, output: string | ContentPart[], at: string): ToolResultBlock {
  const content = typeof output === 'string' ? output : contentBlocks(contentParts(output, at, FAMILY), at);
  // An empty text would be rejected; an absent `content` means "no output".
  return content.length > 0 ? { type: 'tool_result', tool_use_id: id, content } : { type: 'tool_result', tool_use_id: id };
}

function textBlocks(texts: string[]): TextBlock[] {
  // Anthropic rejects empty and whitespace-only text blocks.
  return texts.filter((text) => text.trim() !== '').map((text) => ({ type: 'text', text }));
}

function contentBlocks(parts: InputPart[], at: string): ContentBlock[] {
  const blocks: ContentBlock[] = [];
  parts.forEach((part, j) => {
    if (part.kind === 'text') blocks.push(...textBlocks([part.text]));
    else if (part.kind === 'image') blocks.push({ type: 'image', source: part.source.kind === 'url' ? { type: 'url', url: part.source.url } : { type: 'base64', media_type: part.source.mediaType, data: part.source.data } });
    else blocks.push(documentBlock(part, `${at}[${j}]`));
  });
  return blocks;
}

/** Anthropic reads PDFs (bytes or URL) and plain text as documents; other files are a 400. */
function documentBlock(part: Extract<InputPart, { kind: 'file' }>, at: string): DocumentBlock {
  const title = part.filename ? { title: part.filename } : {};
  const { source } = part;
  if (source.kind === 'url') return { type: 'document', source: { type: 'url', url: source.url }, ...title };
  if (source.mediaType === 'application/pdf') return { type: 'document', source: { type: 'base64', media_type: source.mediaType, data: source.data }, ...title };
  if (source.mediaType.startsWith('text/')) return { type: 'document', source: { type: 'text', media_type: 'text/plain', data: Buffer.from(source.data, 'base64').toString('utf8') }, ...title };
  throw unsupportedInput(at, `a '${source.mediaType}' file`, FAMILY, 'Anthropic reads PDF and plain-text documents; convert the file to PDF or send its text');
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

/** Anthropic reads and writes its prompt cache at these marks; it accepts at most this many per request. */
export const MAX_CACHE_BREAKPOINTS = 4;

/**
 * Prompt caching for Codex's growing history (Anthropic renders tools, then system, then messages):
 * marks on the last tool and the last system block (the stable prefix), on the end of the previous
 * request (the last block of the user turn before the latest assistant turn: this request reads what
 * that one wrote, however many blocks the assistant added since, where Anthropic's own lookback stops
 * at 20), and on the end of this one (written for the next). All share one TTL, so the rule that
 * longer TTLs come first always holds.
 */
export function addCacheBreakpoints(body: AnthropicRequest, ttl?: '5m' | '1h'): void {
  const mark = (): CacheControl => (ttl === '1h' ? { type: 'ephemeral', ttl: '1h' } : { type: 'ephemeral' });
  const marks: Array<{ cache_control?: CacheControl }> = [];
  const lastTool = body.tools?.[body.tools.length - 1];
  if (lastTool) marks.push(lastTool);
  const lastSystem = body.system?.[body.system.length - 1];
  if (lastSystem) marks.push(lastSystem);
  const { messages } = body;
  const lastAssistant = messages.map((m) => m.role).lastIndexOf('assistant');
  const previousEnd = lastAssistant > 0 ? lastCacheable(messages[lastAssistant - 1]) : undefined;
  if (previousEnd) marks.push(previousEnd);
  const end = lastCacheable(messages[messages.length - 1]);
  if (end && end !== previousEnd) marks.push(end);
  for (const block of marks.slice(0, MAX_CACHE_BREAKPOINTS)) block.cache_control = mark();
}

/** Thinking blocks cannot carry cache_control. */
function lastCacheable(message: AnthropicMessage | undefined): CacheableBlock | undefined {
  return message?.content.filter((b): b is CacheableBlock => b.type !== 'thinking' && b.type !== 'redacted_thinking').pop();
}

export function buildRequest(req: ResponsesRequest, deployment: Deployment, apiKey: string): UpstreamRequest {
  const headers = streamingHeaders(deployment, apiKey ? { 'x-api-key': apiKey } : null);
  headers['anthropic-version'] ??= ANTHROPIC_VERSION;
  return { url: upstreamUrl(deployment, '/messages', 'v1'), headers, body: JSON.stringify(toAnthropicRequest(req, deployment)) };
}
