// openai-chat stream mapper: `chat.completion.chunk` events become reasoning, message and tool-call items.
import type { Usage } from '../../protocol/types';
import type { OutputBuilder } from '../output';
import { encodeState } from '../reasoning-state';
import type { StreamMapper } from '../types';
import { inStreamFailure, type ChatStreamError } from './errors';
import type { ChatReasoningState } from './state';
import { chatUsage, hasCounts, type ChatUsage } from './usage';
interface ToolCallDelta {
  index?: number;
  id?: string | null;
  function?: { name?: string | null; arguments?: string | null } | null;
}
interface ChatDelta {
  content?: string | null;
  refusal?: string | null;
  /** DeepSeek, vLLM, SGLang. */
  reasoning_content?: string | null;
  /** OpenRouter, Ollama. */
  reasoning?: string | null;
  tool_calls?: ToolCallDelta[] | null;
}
interface ChatChunk {
  /** `usage` in a choice: Moonshot (Kimi) puts it there on the last chunk. */
  choices?: Array<{ index?: number; delta?: ChatDelta | null; finish_reason?: string | null; usage?: ChatUsage | null }> | null;
  usage?: ChatUsage | null;
  x_groq?: { usage?: ChatUsage | null } | null;
  error?: ChatStreamError | string | null;
}

interface OpenCall { id: string; at: number }

export class ChatStreamMapper implements StreamMapper {
  private message = -1;
  private reasoning = -1;
  /** Upstream tool-call index → our item. */
  private readonly calls = new Map<number, OpenCall>();
  private lastCall: OpenCall | null = null;
  private finishReason: string | null = null;
  private usage: Usage | null = null;

  constructor(private readonly out: OutputBuilder) {}

  onEvent(_event: string | undefined, data: string): void {
    if (this.out.terminal) return;
    if (data === '[DONE]') {
      this.complete();
      return;
    }
    let chunk: ChatChunk;
    try {
      chunk = JSON.parse(data) as ChatChunk;
    } catch {
      return; // not a chunk (a keep-alive some proxies send): nothing to map
    }
    if (chunk.error) {
      this.fail(typeof chunk.error === 'string' ? { message: chunk.error } : chunk.error);
      return;
    }
    // We ask for one choice; `choices: []` is the usage chunk or Azure's prompt_filter_results.
    const choice = chunk.choices?.find((c) => (c.index ?? 0) === 0);
    // Usage may come on the last chunk, on every chunk (cumulative, e.g. xAI's grok-beta) or twice:
    // the last counts are the response's.
    const usage = [chunk.usage, chunk.x_groq?.usage, choice?.usage].find(hasCounts);
    if (usage) this.usage = chatUsage(usage);
    if (!choice) return;
    const delta = choice.delta ?? {};
    if (delta.reasoning_content) this.onReasoning(delta.reasoning_content, 'reasoning_content');
    else if (delta.reasoning) this.onReasoning(delta.reasoning, 'reasoning');
    // A refusal is text the user should see; Codex has no separate refusal display.
    this.onText((delta.content ?? '') + (delta.refusal ?? ''));
    (delta.tool_calls ?? []).forEach((tc) => this.onToolCall(tc));
    if (choice.finish_reason) {
      this.finishReason = choice.finish_reason;
      this.out.finishAll();
    }
  }

  /** Some servers close the stream after the finish chunk without `[DONE]`; with no finish at all the worker fails it. */
  onEnd(): void {
    if (this.finishReason !== null) this.complete();
  }

  private onReasoning(delta: string, field: ChatReasoningState['field']): void {
    if (!this.out.isOpen(this.reasoning)) {
      this.reasoning = this.out.startReasoning();
      this.out.setEncryptedContent(this.reasoning, encodeState('openai-chat', { field } satisfies ChatReasoningState));
    }
    this.out.appendReasoning(this.reasoning, delta);
  }

  private onText(delta: string): void {
    if (delta === '') return;
    this.closeReasoning();
    if (!this.out.isOpen(this.message)) this.message = this.out.startMessage();
    this.out.appendText(this.message, delta);
  }

  private onToolCall(tc: ToolCallDelta): void {
    const known = tc.index !== undefined ? this.calls.get(tc.index) : this.lastCall; // old Ollama sent no index
    let call = known;
    // A new id at a known index is a new call: Ollama gives every call of a parallel batch index 0
    // (ollama/ollama#15457).
    if (!known || (tc.id && tc.id !== known.id)) {
      const name = tc.function?.name;
      if (!name) return; // a fragment of a call whose start we never saw
      this.closeReasoning();
      const id = tc.id || this.out.newId('call');
      call = { id, at: this.out.startToolCall(id, name) };
      if (tc.index !== undefined) this.calls.set(tc.index, call);
      this.lastCall = call;
    }
    this.out.appendArguments(call!.at, tc.function?.arguments ?? '');
  }

  /** Reasoning ends when the answer starts, so Codex shows it finished before the message. */
  private closeReasoning(): void {
    if (this.out.isOpen(this.reasoning)) this.out.finish(this.reasoning);
  }

  private complete(): void {
    const reason = this.finishReason === 'length' ? 'max_output_tokens' : this.finishReason === 'content_filter' ? 'content_filter' : null;
    this.out.completed(this.usage, reason);
  }

  private fail(err: ChatStreamError): void {
    const f = inStreamFailure(err);
    this.out.failed(f.error, f.httpStatus, f.retryable, f.retryAfterSeconds);
  }
}
