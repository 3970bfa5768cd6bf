// What every request mapper needs from a Responses request's input, in one place: the input as a
// list of items (every message shape the API accepts made one), message content as normalised
// parts, what a family does with items it has no form for, data URLs, and tool-call arguments as
// the object providers want back.
import { unsupportedInput } from '../protocol/errors';
import type { ContentPart, InputItem, ResponsesRequest } from '../protocol/types';

/**
 * `input` as items, one per element of the request's `input` (so `input[i]` names the same item in
 * errors): a bare string is one user message, and a message sent without `"type"` (the API's
 * EasyInputMessage `{"role","content"}`, what the SDKs send) becomes a typed one.
 */
export function inputItems(req: ResponsesRequest): InputItem[] {
  if (typeof req.input === 'string') return [{ type: 'message', role: 'user', content: req.input }];
  const items = req.input ?? [];
  // Codex always types its items: no copy unless one is untyped.
  if (items.every((item) => typeof item.type === 'string')) return items;
  return items.map((item) => (typeof item.type === 'string' ? item : ({ ...(item as object), type: 'message' } as InputItem)));
}

/** A file or image: its bytes (base64) with their media type, or a URL the provider fetches. */
export type MediaSource = { kind: 'base64'; mediaType: string; data: string } | { kind: 'url'; url: string };

/** A message's (or tool output's) content part, in the terms every family maps from. */
export type InputPart =
  | { kind: 'text'; text: string }
  | { kind: 'image'; source: MediaSource; detail?: string }
  | { kind: 'file'; source: MediaSource; filename?: string };

/**
 * Content as parts: a string is one text part; `input_text`/`output_text` (and a `refusal`) are
 * text, `input_image` an image, `input_file` a file. `at` names the content (`input[2].content`)
 * for the 400 a part RouterHub cannot send anywhere gets (a part type it does not know, an uploaded
 * file id: RouterHub has no file store).
 */
export function contentParts(content: string | ContentPart[] | null | undefined, at: string, family: string): InputPart[] {
  if (typeof content === 'string') return [{ kind: 'text', text: content }];
  if (!Array.isArray(content)) return [];
  return content.map((part, j) => inputPart(part, `${at}[${j}]`, family));
}

function inputPart(part: ContentPart, at: string, family: string): InputPart {
  const p = part as Record<string, unknown>;
  if (typeof p.text === 'string' && (p.type === 'input_text' || p.type === 'output_text' || p.type === 'text')) return { kind: 'text', text: p.text };
  if (p.type === 'refusal' && typeof p.refusal === 'string') return { kind: 'text', text: p.refusal };
  if (p.type === 'input_image') {
    if (typeof p.image_url === 'string') {
      const source = mediaSource(p.image_url);
      if (source) return typeof p.detail === 'string' ? { kind: 'image', source, detail: p.detail } : { kind: 'image', source };
      throw unsupportedInput(at, 'an image whose image_url is neither a data: URL nor an http(s) URL', family, 'send a data:<type>;base64 URL or an https URL');
    }
    throw unsupportedInput(at, 'an image given by file_id', family, 'RouterHub keeps no uploaded files; send the image as a data: URL or an https URL in image_url');
  }
  if (p.type === 'input_file') {
    const filename = typeof p.filename === 'string' ? p.filename : undefined;
    const named = filename ? { filename } : {};
    if (typeof p.file_data === 'string') {
      const source = fileData(p.file_data, filename);
      if (source) return { kind: 'file', source, ...named };
      throw unsupportedInput(at, 'a file whose media type is unknown', family, 'send file_data as a data:<media type>;base64 URL (or name the file, e.g. "report.pdf")');
    }
    if (typeof p.file_url === 'string' && /^https?:\/\//i.test(p.file_url)) return { kind: 'file', source: { kind: 'url', url: p.file_url }, ...named };
    throw unsupportedInput(at, 'a file given by file_id', family, 'RouterHub keeps no uploaded files; send the file as file_data (a base64 data: URL) or file_url');
  }
  throw unsupportedInput(at, `a '${String(p.type)}' content part`, family, 'send input_text, input_image or input_file parts');
}

function mediaSource(url: string): MediaSource | null {
  const data = parseDataUrl(url);
  if (data) return { kind: 'base64', ...data };
  return /^https?:\/\//i.test(url) ? { kind: 'url', url } : null;
}

/** Media types of the files providers read, by extension, for `file_data` sent as bare base64. */
const FILE_TYPES: Readonly<Record<string, string>> = { pdf: 'application/pdf', txt: 'text/plain', md: 'text/markdown', csv: 'text/csv', html: 'text/html', json: 'application/json' };

function fileData(value: string, filename: string | undefined): MediaSource | null {
  const data = parseDataUrl(value);
  if (data) return { kind: 'base64', ...data };
  const ext = /\.([a-z0-9]+)$/i.exec(filename ?? '')?.[1].toLowerCase();
  const mediaType = ext ? FILE_TYPES[ext] : undefined;
  return mediaType ? { kind: 'base64', mediaType, data: value } : null;
}

/** The source as a URL again (a data: URL for bytes), for providers that take URLs. */
export function sourceUrl(source: MediaSource): string {
  return source.kind === 'url' ? source.url : `data:${source.mediaType};base64,${source.data}`;
}

/** The text of parts, for a place that takes text only; any other part there is a 400 naming it. */
export function textOnly(parts: InputPart[], at: string, family: string, where: string): string[] {
  return parts.map((p, j) => {
    if (p.kind === 'text') return p.text;
    throw unsupportedInput(`${at}[${j}]`, `${p.kind === 'image' ? 'an image' : 'a file'} in ${where}`, family, `${where} takes text only`);
  });
}

/**
 * Items an OpenAI upstream produced for its own hosted or built-in tools: records of a turn that
 * already happened (the answer after them carries their result), which Codex replays in every
 * later request. Other families have no form for them and drop them, so that a thread can move to
 * another model or fail over; every other item a family cannot take is a 400 (`rejectItem`).
 */
const TOOL_RECORDS: ReadonlySet<string> = new Set([
  'web_search_call', 'file_search_call', 'code_interpreter_call', 'image_generation_call', 'tool_search_call',
  'tool_search_output', 'mcp_list_tools', 'mcp_call', 'local_shell_call', 'local_shell_call_output',
  'shell_call', 'shell_call_output', 'apply_patch_call', 'apply_patch_call_output',
]);

/** Why an item no family but openai-responses can take is refused, and what the client can do. */
const REFUSED: Readonly<Record<string, string>> = {
  item_reference: 'RouterHub stores no responses or items; send the item itself',
  compaction: "it holds the thread's earlier history in a form only OpenAI can read; continue this thread on an openai-responses model or start a new one",
  context_compaction: "it holds the thread's earlier history in a form only OpenAI can read; continue this thread on an openai-responses model or start a new one",
  computer_call: 'computer use runs only on OpenAI; use an openai-responses model',
  computer_call_output: 'computer use runs only on OpenAI; use an openai-responses model',
  mcp_approval_request: 'hosted MCP tools run only on OpenAI; use an openai-responses model',
  mcp_approval_response: 'hosted MCP tools run only on OpenAI; use an openai-responses model',
};

/**
 * An item the family's mapper has no case for: a hosted-tool record is dropped (returns); anything
 * else is a 400 naming `input[index]` and the family, never a silent drop.
 */
export function rejectItem(item: InputItem, index: number, family: string): void {
  const type = String(item.type);
  if (TOOL_RECORDS.has(type)) return;
  const hint = REFUSED[type] ?? 'RouterHub does not know this item type; send messages, function and custom tool calls and their outputs, and reasoning items';
  throw unsupportedInput(`input[${index}]`, `a '${type}' item`, family, hint);
}

/** A `data:<media type>;base64,<data>` URL split in two, or null for any other URL. */
export function parseDataUrl(url: string): { mediaType: string; data: string } | null {
  const m = /^data:([^;,]+);base64,(.*)$/s.exec(url);
  return m ? { mediaType: m[1], data: m[2] } : null;
}

/**
 * A call's JSON arguments as an object. A model that produced broken JSON still has its call sent
 * back (providers require every call in the history): with no arguments.
 */
export function parseArgumentsObject(args: unknown): Record<string, unknown> {
  if (typeof args !== 'string') return {};
  try {
    const parsed = JSON.parse(args) as unknown;
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  } catch {
    // broken JSON: no arguments
  }
  return {};
}
