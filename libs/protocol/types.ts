// The OpenAI Responses API as RouterHub accepts and emits it. Only the fields RouterHub reads or
// writes are typed; everything else a client sends is kept as it is (index signatures), because
// Codex sends item and tool types that evolve faster than any schema (see CODEX-CONTRACT.md 1.3).

export interface InputText { type: 'input_text'; text: string }
export interface OutputText { type: 'output_text'; text: string; annotations?: unknown[] }
export interface InputImage { type: 'input_image'; image_url?: string; file_id?: string; detail?: string }
export type ContentPart = InputText | OutputText | InputImage | { type: string; [k: string]: unknown };

export interface MessageItem {
  type: 'message';
  id?: string;
  role: 'developer' | 'system' | 'user' | 'assistant';
  content: string | ContentPart[];
  status?: string;
  phase?: string;
}
export interface FunctionCallItem {
  type: 'function_call';
  id?: string;
  call_id: string;
  name: string;
  arguments: string;
  namespace?: string;
  status?: string;
}
export interface FunctionCallOutputItem {
  type: 'function_call_output';
  id?: string;
  call_id: string;
  output: string | ContentPart[];
}
export interface CustomToolCallItem {
  type: 'custom_tool_call';
  id?: string;
  call_id: string;
  name: string;
  input: string;
  status?: string;
}
export interface CustomToolCallOutputItem {
  type: 'custom_tool_call_output';
  id?: string;
  call_id: string;
  output: string | ContentPart[];
}
export interface ReasoningItem {
  type: 'reasoning';
  id?: string;
  summary: Array<{ type: 'summary_text'; text: string }>;
  content?: Array<{ type: 'reasoning_text'; text: string }>;
  encrypted_content?: string | null;
  status?: string;
}
export type InputItem =
  | MessageItem
  | FunctionCallItem
  | FunctionCallOutputItem
  | CustomToolCallItem
  | CustomToolCallOutputItem
  | ReasoningItem
  | { type: string; id?: string; [k: string]: unknown };

/** Items RouterHub itself emits in `response.output`. */
export type OutputItem = MessageItem | FunctionCallItem | CustomToolCallItem | ReasoningItem;

/** An output item RouterHub does not model (a hosted tool's call), kept as its upstream sent it. */
export interface PassThroughItem { type: string; id?: string; [k: string]: unknown }

/**
 * An upstream streaming event about such an item, without its `sequence_number` and
 * `output_index` (RouterHub numbers both). `item` is set on `response.output_item.added`/`.done`.
 */
export interface PassThroughEvent { type: string; item?: PassThroughItem; [k: string]: unknown }

export interface FunctionTool {
  type: 'function';
  name: string;
  description?: string;
  parameters?: Record<string, unknown> | null;
  strict?: boolean | null;
}
export interface CustomTool {
  type: 'custom';
  name: string;
  description?: string;
  format?: { type: 'text' } | { type: 'grammar'; syntax: string; definition: string };
}
export interface NamespaceTool { type: 'namespace'; name: string; description?: string; tools: Tool[] }
export type Tool = FunctionTool | CustomTool | NamespaceTool | { type: string; [k: string]: unknown };

/** A request's fields but its input: what the ingress parses (validate.ts, RequestHead). */
export interface RequestFields {
  model: string;
  instructions?: string | null;
  stream?: boolean;
  tools?: Tool[];
  tool_choice?: 'auto' | 'none' | 'required' | { type: string; name?: string; [k: string]: unknown };
  parallel_tool_calls?: boolean;
  reasoning?: { effort?: string | null; summary?: string | null } | null;
  max_output_tokens?: number | null;
  temperature?: number | null;
  top_p?: number | null;
  store?: boolean;
  include?: string[];
  prompt_cache_key?: string;
  text?: { verbosity?: string; format?: Record<string, unknown> };
  client_metadata?: Record<string, string>;
  metadata?: Record<string, string>;
  [k: string]: unknown;
}

export interface ResponsesRequest extends RequestFields {
  input: string | InputItem[];
}

export interface Usage {
  input_tokens: number;
  /** `cache_write_tokens`: of the input, tokens written to the prompt cache, for providers that report (and price) writes. */
  input_tokens_details: { cached_tokens: number; cache_write_tokens?: number };
  output_tokens: number;
  output_tokens_details: { reasoning_tokens: number };
  total_tokens: number;
  /** What RouterHub charged for the response, in USD (the catalog's price of the deployment that served). */
  cost?: number;
}

export interface ApiError { message: string; type: string; param: string | null; code: string | null }

export type ResponseStatus = 'in_progress' | 'completed' | 'incomplete' | 'failed';
