// The Responses SSE serializer: a pure function of the frames of one response to `response.*` event
// text, with `sequence_number` on every event. One ResponseStream per response holds its state
// (sequence counter, done items, per-item event prefixes) so that the per-token path is string
// concatenation around one JSON.stringify of the delta.
import { F, type Frame } from '../wire/frames';
import type { ApiError, OutputItem, ResponseStatus, Usage } from './types';

export interface ResponseEnvelope {
  id: string;
  object: 'response';
  created_at: number;
  status: ResponseStatus;
  model: string;
  output: OutputItem[];
  usage: Usage | null;
  error: ApiError | null;
  incomplete_details: { reason: string } | null;
  metadata: Record<string, string>;
}

interface ItemPrefixes { delta: string; id: string }

export class ResponseStream {
  private seq = 0;
  private readonly done: Array<OutputItem | undefined> = [];
  private readonly prefixes = new Map<number, ItemPrefixes>();
  private readonly summaryParts = new Map<number, number>();
  /** Set once the terminal event was serialized. */
  terminal: 'completed' | 'incomplete' | 'failed' | null = null;
  usage: Usage | null = null;
  error: ApiError | null = null;
  incompleteReason: string | null = null;

  constructor(
    readonly id: string,
    readonly model: string,
    readonly createdAt = Math.floor(Date.now() / 1000),
  ) {}

  /** `response.created` and `response.in_progress`: the stream is committed. */
  start(): string {
    const r = JSON.stringify(this.envelope('in_progress'));
    return this.event('response.created', `"response":${r}`) + this.event('response.in_progress', `"response":${r}`);
  }

  /** A harmless event that resets the client's idle timer during long upstream silences. */
  keepalive(): string {
    return this.event('response.in_progress', `"response":${JSON.stringify(this.envelope('in_progress'))}`);
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
      case F.Accepted:
      case F.Started:
      case F.Keepalive:
        return '';
    }
  }

  /** The terminal event of a failed response; with `usage` when it reached its provider (billed). */
  failed(error: ApiError, usage: Usage | null = null): string {
    if (this.terminal) return '';
    this.terminal = 'failed';
    this.error = error;
    this.usage = usage;
    // Codex reads the nested `error` object of an `error` event, then `response.failed`.
    return this.event('error', `"error":${JSON.stringify(error)}`) +
      this.event('response.failed', `"response":${JSON.stringify(this.envelope('failed'))}`);
  }

  /** The response object as `stream: false` returns it and as terminal events carry it. */
  envelope(status: ResponseStatus): ResponseEnvelope {
    return {
      id: this.id,
      object: 'response',
      created_at: this.createdAt,
      status,
      model: this.model,
      output: status === 'in_progress' ? [] : this.done.filter((i): i is OutputItem => i !== undefined),
      usage: this.usage,
      error: this.error,
      incomplete_details: this.incompleteReason ? { reason: this.incompleteReason } : null,
      metadata: {},
    };
  }

  private completed(usage: Usage | null, incompleteReason: string | null): string {
    if (this.terminal) return '';
    this.usage = usage;
    this.incompleteReason = incompleteReason;
    this.terminal = incompleteReason ? 'incomplete' : 'completed';
    return this.event(`response.${this.terminal}`, `"response":${JSON.stringify(this.envelope(this.terminal))}`);
  }

  private itemAdded(index: number, item: OutputItem): string {
    const id = item.id ?? `item_${this.id}_${index}`;
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

  private itemDone(index: number, item: OutputItem): string {
    const p = this.prefixes.get(index);
    const where = p ? `${p.delta}` : `,"output_index":${index}`;
    let text = '';
    switch (item.type) {
      case 'message': {
        const content = Array.isArray(item.content) ? item.content : [];
        const part = content[0] ?? { type: 'output_text', text: '', annotations: [] };
        const value = (part as { text?: string }).text ?? '';
        text += this.event('response.output_text.done', `${where.slice(1)},"content_index":0,"text":${JSON.stringify(value)}`);
        text += this.event('response.content_part.done', `${where.slice(1)},"content_index":0,"part":${JSON.stringify(part)}`);
        break;
      }
      case 'function_call':
        text += this.event('response.function_call_arguments.done', `${where.slice(1)},"arguments":${JSON.stringify(item.arguments)}`);
        break;
      case 'custom_tool_call':
        text += this.event('response.custom_tool_call_input.done', `${where.slice(1)},"input":${JSON.stringify(item.input)}`);
        break;
      case 'reasoning':
        item.summary.forEach((s, i) => {
          text += this.event('response.reasoning_summary_text.done', `${where.slice(1)},"summary_index":${i},"text":${JSON.stringify(s.text)}`);
          text += this.event('response.reasoning_summary_part.done', `${where.slice(1)},"summary_index":${i},"part":${JSON.stringify(s)}`);
        });
        break;
    }
    this.done[index] = item;
    this.prefixes.delete(index);
    this.summaryParts.delete(index);
    return text + this.event('response.output_item.done', `"output_index":${index},"item":${JSON.stringify(item)}`);
  }

  /** One event: `fields` is the JSON object's body after `type`, already serialized. */
  private event(type: string, fields: string): string {
    return `event: ${type}\ndata: {"type":"${type}",${fields},"sequence_number":${this.seq++}}\n\n`;
  }
}
