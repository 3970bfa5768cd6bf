// openai-responses stream mapper: the upstream's events map one-to-one onto frames, with the
// upstream's complete items used for `output_item.done`.
import { pickUpstreamSettings } from '../../protocol/envelope';
import type { ApiError, OutputItem } from '../../protocol/types';
import type { OutputBuilder } from '../output';
import type { StreamMapper } from '../types';
import { makeUsage } from '../usage';
import { streamErrorFailure } from './errors';

interface UpstreamEvent {
  type: string;
  output_index?: number;
  summary_index?: number;
  delta?: string;
  item?: OutputItem & { type: string };
  response?: {
    [setting: string]: unknown;
    usage?: { input_tokens?: number; output_tokens?: number; input_tokens_details?: { cached_tokens?: number }; output_tokens_details?: { reasoning_tokens?: number } } | null;
    incomplete_details?: { reason?: string } | null;
    error?: Partial<ApiError> | null;
  };
  error?: Partial<ApiError>;
  code?: string;
  message?: string;
}

const TERMINAL_EVENTS = new Set(['response.completed', 'response.incomplete', 'response.failed']);

export class ResponsesStreamMapper implements StreamMapper {
  /** Upstream output_index → ours (the same unless the upstream skips indexes). */
  private readonly index = new Map<number, number>();

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
        this.start(ev.output_index ?? this.index.size, ev.item!);
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
        if (at >= 0) this.out.finish(at, ev.item);
        return;
      case 'response.completed':
      case 'response.incomplete': {
        const u = ev.response?.usage;
        const usage = u ? makeUsage(u.input_tokens ?? 0, u.input_tokens_details?.cached_tokens ?? 0, u.output_tokens ?? 0, u.output_tokens_details?.reasoning_tokens ?? 0) : null;
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
      default:
        // created, in_progress, content_part.*, *.done text events, annotations…: nothing to add.
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
        // Hosted-tool items (web_search_call…) are not part of a Codex turn through a gateway.
        return;
    }
    this.index.set(upstreamIndex, ours);
  }

  private fail(err: Partial<ApiError>): void {
    const f = streamErrorFailure(err);
    this.out.failed(f.error, f.httpStatus, f.retryable, f.retryAfterSeconds);
  }
}

