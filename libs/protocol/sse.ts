// The Responses SSE serializer: a pure function of the frames of one response to `response.*` event
// text, with `sequence_number` on every event. One ResponseStream per response holds its state
// (sequence counter, done items, per-item event prefixes) so that the per-token path is string
// concatenation around one JSON.stringify of the delta. The events and the Response object follow
// the Open Responses specification (libs/protocol/spec/openresponses.json).
import { F, type Frame } from '../wire/frames';
import { ResponseSettings } from './envelope';
import type { ApiError, OutputItem, PassThroughEvent, PassThroughItem, ResponseStatus, Usage } from './types';

interface ItemPrefixes { delta: string; id: string }

export class ResponseStream {
  private seq = 0;
  private readonly done: Array<OutputItem | PassThroughItem | undefined> = [];
  private readonly prefixes = new Map<number, ItemPrefixes>();
  private readonly summaryParts = new Map<number, number>();
  /** `{"id":…,"object":"response","created_at":…,"status":"` : the Response object's fixed start. */
  private readonly head: string;
  /** Set once the terminal event was serialized. */
  terminal: 'completed' | 'incomplete' | 'failed' | null = null;
  usage: Usage | null = null;
  error: ApiError | null = null;
  incompleteReason: string | null = null;
  completedAt: number | null = null;

  constructor(
    readonly id: string,
    readonly model: string,
    /** The request's side of the Response object, serialized once for every event that carries it. */
    private readonly settings: ResponseSettings = ResponseSettings.fromRequest({ model, input: [] }),
    readonly createdAt = Math.floor(Date.now() / 1000),
  ) {
    this.head = `{"id":${JSON.stringify(id)},"object":"response","created_at":${createdAt},"model":${JSON.stringify(model)},"status":"`;
  }

  /** `response.created` and `response.in_progress`: the stream is committed. */
  start(): string {
    const r = this.responseJson('in_progress');
    return this.event('response.created', `"response":${r}`) + this.event('response.in_progress', `"response":${r}`);
  }

  /** A harmless event that resets the client's idle timer during long upstream silences. */
  keepalive(): string {
    return this.event('response.in_progress', `"response":${this.responseJson('in_progress')}`);
  }

  /** SSE text for one frame ('' for frames the client does not see). */
  frame(f: Frame): string {
    switch (f[0]) {
      case F.TextDelta:
        return this.delta(f[1], 'response.output_text.delta', f[2], ',"content_index":0');
      case F.ReasoningDelta:
        return this.reasoningDelta(f[1], f[2], f[3]);
      case F.ArgsDelta:
        return this.delta(f[1], 'response.function_call_arguments.delta', f[2], '');
      case F.CustomInputDelta:
        return this.delta(f[1], 'response.custom_tool_call_input.delta', f[2], '');
      case F.ItemAdded:
        return this.itemAdded(f[1], f[2]);
      case F.ItemDone:
        return this.itemDone(f[1], f[2]);
      case F.Completed:
        return this.completed(f[1], f[2]);
      case F.Failed:
        return this.failed(f[1], f[4] ?? null);
      case F.ResponseFields:
        this.settings.override(f[1]);
        return '';
      case F.PassThrough:
        return this.passThrough(f[1], f[2]);
      case F.Accepted:
      case F.Started:
      case F.Keepalive:
        return '';
    }
    return ''; // a frame kind from a newer worker
  }

  /** The terminal event of a failed response; with `usage` when it reached its provider (billed). */
  failed(error: ApiError, usage: Usage | null = null): string {
    if (this.terminal) return '';
    this.terminal = 'failed';
    this.error = error;
    this.usage = usage;
    // Codex reads the nested `error` object of an `error` event, then `response.failed`.
    return this.event('error', `"error":${JSON.stringify(error)}`) +
      this.event('response.failed', `"response":${this.responseJson('failed')}`);
  }

  /** The Response object (JSON text) as `stream: false` returns it and as lifecycle events carry it. */
  responseJson(status: ResponseStatus): string {
    const output = status === 'in_progress' ? '[]' : JSON.stringify(this.done.filter((i) => i !== undefined));
    // The spec's Error has a string `code`; an error without one is named by its type.
    const error = this.error ? JSON.stringify({ ...this.error, code: this.error.code ?? this.error.type }) : 'null';
    const incomplete = this.incompleteReason ? `{"reason":${JSON.stringify(this.incompleteReason)}}` : 'null';
    return `${this.head}${status}","completed_at":${this.completedAt ?? 'null'},"output":${output},"usage":${this.usage ? JSON.stringify(this.usage) : 'null'},"error":${error},"incomplete_details":${incomplete},${this.settings.json}}`;
  }

  private completed(usage: Usage | null, incompleteReason: string | null): string {
    if (this.terminal) return '';
    this.usage = usage;
    this.incompleteReason = incompleteReason;
    this.terminal = incompleteReason ? 'incomplete' : 'completed';
    if (this.terminal === 'completed') this.completedAt = Math.floor(Date.now() / 1000);
    return this.event(`response.${this.terminal}`, `"response":${this.responseJson(this.terminal)}`);
  }

  private itemAdded(index: number, added: OutputItem): string {
    const id = added.id ?? `item_${this.id}_${index}`;
    const item = conform(added, id, 'in_progress');
    this.prefixes.set(index, { id, delta: `,"item_id":${JSON.stringify(id)},"output_index":${index}` });
    let text = this.event('response.output_item.added', `"output_index":${index},"item":${JSON.stringify(item)}`);
    if (item.type === 'message') {
      text += this.event('response.content_part.added', `"item_id":${JSON.stringify(id)},"output_index":${index},"content_index":0,"part":{"type":"output_text","text":"","annotations":[]}`);
    }
    return text;
  }

  private delta(index: number, type: string, delta: string, extra: string): string {
    const p = this.prefixes.get(index);
    if (!p) return '';
    return `event: ${type}\ndata: {"type":"${type}"${p.delta}${extra},"delta":${JSON.stringify(delta)},"sequence_number":${this.seq++}}\n\n`;
  }

  private reasoningDelta(index: number, summaryIndex: number, delta: string): string {
    const p = this.prefixes.get(index);
    if (!p) return '';
    let text = '';
    const announced = this.summaryParts.get(index) ?? -1;
    for (let s = announced + 1; s <= summaryIndex; s++) {
      text += this.event('response.reasoning_summary_part.added', `"item_id":${JSON.stringify(p.id)},"output_index":${index},"summary_index":${s},"part":{"type":"summary_text","text":""}`);
    }
    if (summaryIndex > announced) this.summaryParts.set(index, summaryIndex);
    return text + this.delta(index, 'response.reasoning_summary_text.delta', delta, `,"summary_index":${summaryIndex}`);
  }

  private itemDone(index: number, finished: OutputItem): string {
    const p = this.prefixes.get(index);
    const id = p?.id ?? finished.id ?? `item_${this.id}_${index}`;
    const item = conform(finished, id, 'completed');
    const where = `"item_id":${JSON.stringify(id)},"output_index":${index}`;
    let text = '';
    switch (item.type) {
      case 'message': {
        const part = item.content[0] ?? { type: 'output_text', text: '', annotations: [] };
        const value = (part as { text?: string }).text ?? '';
        text += this.event('response.output_text.done', `${where},"content_index":0,"text":${JSON.stringify(value)}`);
        text += this.event('response.content_part.done', `${where},"content_index":0,"part":${JSON.stringify(part)}`);
        break;
      }
      case 'function_call':
        text += this.event('response.function_call_arguments.done', `${where},"arguments":${JSON.stringify(item.arguments)}`);
        break;
      case 'custom_tool_call':
        text += this.event('response.custom_tool_call_input.done', `${where},"input":${JSON.stringify(item.input)}`);
        break;
      case 'reasoning':
        item.summary.forEach((s, i) => {
          text += this.event('response.reasoning_summary_text.done', `${where},"summary_index":${i},"text":${JSON.stringify(s.text)}`);
          text += this.event('response.reasoning_summary_part.done', `${where},"summary_index":${i},"part":${JSON.stringify(s)}`);
        });
        break;
    }
    this.done[index] = item;
    this.prefixes.delete(index);
    this.summaryParts.delete(index);
    return text + this.event('response.output_item.done', `"output_index":${index},"item":${JSON.stringify(item)}`);
  }

  /** An upstream event about an item RouterHub does not model, with RouterHub's output_index and sequence_number. */
  private passThrough(index: number, ev: PassThroughEvent): string {
    if (ev.type === 'response.output_item.done' && ev.item) this.done[index] = ev.item;
    const { type, ...fields } = ev;
    const rest = JSON.stringify(fields);
    return this.event(type, `"output_index":${index}${rest === '{}' ? '' : `,${rest.slice(1, -1)}`}`);
  }

  /** One event: `fields` is the JSON object's body after `type`, already serialized. */
  private event(type: string, fields: string): string {
    return `event: ${type}\ndata: {"type":"${type}",${fields},"sequence_number":${this.seq++}}\n\n`;
  }
}

/**
 * An output item with what the spec requires of its kind: an id and a status on messages and
 * function calls, a content array on messages, no null `encrypted_content` on reasoning (an
 * upstream's complete item may omit or null them). Once per item, never per token.
 */
function conform(item: OutputItem, id: string, status: 'in_progress' | 'completed'): OutputItem {
  switch (item.type) {
    case 'message':
      return { ...item, id, status: item.status ?? status, content: Array.isArray(item.content) ? item.content : [] };
    case 'function_call':
    case 'custom_tool_call':
      return { ...item, id, status: item.status ?? status };
    case 'reasoning': {
      if (item.id === id && Array.isArray(item.summary) && typeof item.encrypted_content !== 'object') return item;
      const { encrypted_content, ...rest } = item;
      return { ...rest, id, summary: Array.isArray(item.summary) ? item.summary : [], ...(typeof encrypted_content === 'string' ? { encrypted_content } : {}) };
    }
    default:
      return item;
  }
}
