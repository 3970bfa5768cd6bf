// openai-responses stream mapper: the upstream's events map one-to-one onto frames, with the
// upstream's complete items used for `output_item.done`.
import { pickUpstreamSettings } from '../../protocol/envelope';
import type { ApiError, OutputItem, PassThroughEvent } from '../../protocol/types';
import type { OutputBuilder } from '../output';
import type { StreamMapper } from '../types';
import { streamErrorFailure } from './errors';
import { responsesUsage, type ResponsesUsage } from './usage';

interface UpstreamEvent {
  type: string;
  output_index?: number;
  summary_index?: number;
  delta?: string;
  item?: OutputItem & { type: string };
  sequence_number?: number;
  response?: {
    [setting: string]: unknown;
    usage?: ResponsesUsage | null;
    incomplete_details?: { reason?: string } | null;
    error?: Partial<ApiError> | null;
  };
  error?: Partial<ApiError>;
  code?: string;
  message?: string;
}

const TERMINAL_EVENTS = new Set(['response.completed', 'response.incomplete', 'response.failed']);

/** Items RouterHub models; any other (a hosted tool's call) passes through as the upstream sent it. */
const MODELLED_ITEMS = new Set(['message', 'reasoning', 'function_call', 'custom_tool_call']);

/** An event name that is safe on an SSE `event:` line and in the JSON RouterHub writes around it. */
const EVENT_NAME = /^response\.[a-z0-9_.]+$/;

export class ResponsesStreamMapper implements StreamMapper {
  /** Upstream output_index → ours (the same unless the upstream skips indexes). */
  private readonly index = new Map<number, number>();

  /** Our output indexes of the items passed through (hosted tools' calls). */
  private readonly passedThrough = new Set<number>();

  /** The upstream's settings last forwarded (JSON), so that an unchanged terminal envelope sends nothing. */
  private settings = '';

  constructor(private readonly out: OutputBuilder) {}

  onEvent(_event: string | undefined, data: string): void {
    if (data === '[DONE]') return;
    const ev = JSON.parse(data) as UpstreamEvent;
    const at = this.index.get(ev.output_index ?? -1) ?? -1;
    if (ev.response && (ev.type === 'response.created' || TERMINAL_EVENTS.has(ev.type))) this.forwardSettings(ev.response);
    switch (ev.type) {
      case 'response.output_item.added':
        if (typeof ev.item?.type === 'string' && !MODELLED_ITEMS.has(ev.item.type)) this.index.set(ev.output_index ?? this.index.size, this.startPassThrough(ev));
        else this.start(ev.output_index ?? this.index.size, ev.item!);
        return;
      case 'response.output_text.delta':
        this.out.appendText(at, ev.delta ?? '');
        return;
      case 'response.reasoning_summary_text.delta':
        this.out.appendReasoning(at, ev.delta ?? '', ev.summary_index ?? 0);
        return;
      case 'response.function_call_arguments.delta':
        this.out.appendArguments(at, ev.delta ?? '');
        return;
      case 'response.custom_tool_call_input.delta':
        this.out.appendCustomInput(at, ev.delta ?? '');
        return;
      case 'response.output_item.done':
        if (this.passedThrough.has(at)) this.out.passThrough(at, passThroughEvent(ev));
        else if (at >= 0) this.out.finish(at, ev.item);
        return;
      case 'response.completed':
      case 'response.incomplete': {
        const u = ev.response?.usage;
        const usage = u ? responsesUsage(u) : null;
        this.out.completed(usage, ev.type === 'response.incomplete' ? ev.response?.incomplete_details?.reason ?? 'unknown' : null);
        return;
      }
      case 'response.failed':
        this.fail(ev.response?.error ?? {});
        return;
      case 'error':
        // Documented top-level shape {"type":"error","code","message"} and the nested one.
        this.fail(ev.error ?? { code: ev.code, message: ev.message });
        return;
      case 'response.output_text.annotation.added':
        // Citations (a web search's url_citation) on a message: RouterHub's events have none of their own.
        if (at >= 0 && EVENT_NAME.test(ev.type)) this.out.passThrough(at, passThroughEvent(ev));
        return;
      default:
        // A hosted tool's progress (web_search_call.searching, image_generation_call.partial_image,
        // mcp_call.*…) goes to the client. created, in_progress, content_part.*, the *.done events of
        // the items RouterHub models: it sends its own.
        if (this.passedThrough.has(at) && EVENT_NAME.test(ev.type)) this.out.passThrough(at, passThroughEvent(ev));
        return;
    }
  }

  onEnd(): void {}

  private forwardSettings(response: Record<string, unknown>): void {
    const fields = pickUpstreamSettings(response);
    const json = fields ? JSON.stringify(fields) : '';
    if (!fields || json === this.settings) return;
    this.settings = json;
    this.out.responseFields(fields);
  }

  private startPassThrough(ev: UpstreamEvent): number {
    const at = this.out.startPassThrough(passThroughEvent(ev));
    this.passedThrough.add(at);
    return at;
  }

  private start(upstreamIndex: number, item: OutputItem & { type: string }): void {
    let ours: number;
    switch (item.type) {
      case 'message':
        ours = this.out.startMessage(item.id);
        break;
      case 'reasoning':
        ours = this.out.startReasoning(item.id);
        break;
      case 'function_call':
        ours = this.out.startFunctionCall(item.call_id, item.name, item.id);
        break;
      case 'custom_tool_call':
        ours = this.out.startCustomCall(item.call_id, item.name, item.id);
        break;
      default:
        return;
    }
    this.index.set(upstreamIndex, ours);
  }

  private fail(err: Partial<ApiError>): void {
    const f = streamErrorFailure(err);
    this.out.failed(f.error, f.httpStatus, f.retryable, f.retryAfterSeconds);
  }
}


/** The upstream event without the numbers RouterHub gives it itself (sequence_number, output_index). */
function passThroughEvent(ev: UpstreamEvent): PassThroughEvent {
  const { sequence_number: _seq, output_index: _index, ...event } = ev;
  return event as PassThroughEvent;
}
