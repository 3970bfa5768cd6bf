// What every request mapper needs from a Responses request's input, in one place: the input as a
// list of items, data URLs, and tool-call arguments as the object providers want back.
import type { InputItem, ResponsesRequest } from '../protocol/types';

/** `input` as items: a bare string is one user message. */
export function inputItems(req: ResponsesRequest): InputItem[] {
  return typeof req.input === 'string' ? [{ type: 'message', role: 'user', content: req.input }] : req.input ?? [];
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
