// What a mock upstream answers, independent of wire format: each provider family's mock renders a
// MockTurn in its own real wire format (libs/providers/mock/<family>.ts). Tests script turns; the
// demo model and the benchmarks use the deterministic default behaviour (demo.ts).

export type MockPart =
  | { type: 'text'; text: string }
  /** Thinking/reasoning shown as summary text; `signature` is the provider's opaque state. */
  | { type: 'reasoning'; text: string; signature?: string }
  | { type: 'function_call'; name: string; arguments: string; call_id?: string }
  /** Freeform tool call (Codex's apply_patch). Families without custom tools render it as a function call with `{"input": …}`. */
  | { type: 'custom_tool_call'; name: string; input: string; call_id?: string };

export interface MockTurn {
  parts: MockPart[];
  usage?: { input: number; cached?: number; output: number; reasoning?: number };
  /**
   * The usage object exactly as the provider sends it, in its own field names, instead of one
   * rendered from `usage` (tests of recorded usage): the chat usage chunk's `usage`, Anthropic's
   * message_start and message_delta `usage`, Gemini's `usageMetadata`, the Responses `usage`.
   */
  wireUsage?: Record<string, unknown>;
  /** openai-chat: send no usage chunk, as a server that ignores stream_options.include_usage does. */
  omitUsage?: boolean;
  /** How the response ends: normally, cut by the output limit, or by a content filter. */
  stop?: 'end' | 'max_tokens' | 'content_filter';
  /** Answer with this HTTP error instead of a stream (body in the family's error shape). */
  httpError?: { status: number; message?: string; type?: string; retryAfter?: number };
  /** Send the family's in-stream error event after this many parts, then end the stream. */
  streamError?: { afterParts: number; message: string; type?: string };
  /** Stop after this many wire events, without any terminal event. */
  cutAfterEvents?: number;
  /** How the cut stream stops: a broken connection (default) or a clean end of the HTTP body. */
  cutHow?: 'reset' | 'end';
  /** Text and arguments are split into pieces of this many characters (default: by word). */
  chunkChars?: number;
  /** Pause between wire events, in ms (0: write everything at once). */
  delayMs?: number;
  /** Silence before the first event, in ms (a model thinking). */
  initialDelayMs?: number;
  /** openai-responses: the upstream's own settings in its response envelopes (service_tier, top_p, …). */
  responseFields?: Record<string, unknown>;
  /** Answer with this recorded stream instead (the `data:` payloads of a `.chunks.txt` fixture), framed as SSE. */
  recorded?: string[];
  /** Go silent after this many wire events, for `ms` (unset: until the caller goes away), then go on. */
  stall?: { afterEvents: number; ms?: number };
  /** After this many wire events, send these bytes instead of the rest, then end the body (a broken upstream). */
  garbage?: { afterEvents: number; bytes: string };
}

/** A request as the mock saw it, for tests to assert on what reached the upstream. */
export interface MockRequest {
  family: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: Record<string, unknown>;
  /** The client (RouterHub's worker) went away before the stream ended. */
  aborted: boolean;
  /** The stream reached its end (every event written). */
  finished: boolean;
  /** The upstream model name the request asked for (each catalog deployment of a test model has its own). */
  model?: string;
}

/** Splits text into streaming pieces: words (with their spaces) or fixed-size chunks. */
export function pieces(text: string, chunkChars?: number): string[] {
  if (text === '') return [];
  if (chunkChars && chunkChars > 0) {
    const out: string[] = [];
    for (let i = 0; i < text.length; i += chunkChars) out.push(text.slice(i, i + chunkChars));
    return out;
  }
  return text.match(/\S+\s*|\s+/g) ?? [text];
}

export function defaultUsage(turn: MockTurn): Required<NonNullable<MockTurn['usage']>> {
  const u = turn.usage;
  const produced = turn.parts.reduce((n, p) => n + pieces(p.type === 'function_call' ? p.arguments : p.type === 'custom_tool_call' ? p.input : p.text).length, 0);
  return { input: u?.input ?? 100, cached: u?.cached ?? 0, output: u?.output ?? produced, reasoning: u?.reasoning ?? 0 };
}
