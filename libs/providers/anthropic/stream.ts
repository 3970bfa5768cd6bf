// anthropic stream mapper: Messages SSE (content blocks) → Responses output items.
import type { OutputBuilder } from '../output';
import type { StreamMapper } from '../types';
import { streamErrorFailure } from './errors';
import { encodeReasoning } from './state';
import { AnthropicUsageCounter, type AnthropicUsage } from './usage';

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
  private readonly usage = new AnthropicUsageCounter();
  private stopReason: string | null = null;

  constructor(private readonly out: OutputBuilder) {}

  onEvent(_event: string | undefined, data: string): void {
    const ev = JSON.parse(data) as AnthropicEvent;
    switch (ev.type) {
      case 'message_start':
        this.usage.add(ev.message?.usage);
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
        this.usage.add(ev.usage);
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

  private complete(): void {
    this.out.completed(this.usage.usage(), INCOMPLETE_REASON[this.stopReason ?? ''] ?? null);
  }

  private fail(type: string, message: string): void {
    const f = streamErrorFailure(type, message);
    this.out.failed(f.error, f.httpStatus, f.retryable, f.retryAfterSeconds);
  }
}

function isNonEmptyObject(v: unknown): boolean {
  return typeof v === 'object' && v !== null && Object.keys(v).length > 0;
}

