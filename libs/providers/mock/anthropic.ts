// Mock of the Anthropic Messages streaming wire format: `event: <type>` + `data: <json>` per event,
// message_start … content blocks … message_delta (stop_reason, usage) → message_stop, a ping after
// the first block starts, in-stream `error` events, and Anthropic's `{"type":"error",…}` HTTP bodies.
import { CUSTOM_TOOL_INPUT_PARAM } from '../output';
import { defaultUsage, pieces, type MockTurn } from './script';
import { contentText, typedEvent, type MockRequestView, type MockWire } from './wire';

type Json = Record<string, unknown>;

function textBlocksOf(content: unknown): string[] {
  return Array.isArray(content) ? content.filter((c: Json) => c.type === 'text' && typeof c.text === 'string').map((c: Json) => c.text as string) : [];
}

/** Anthropic's error type for an HTTP status (https://docs.anthropic.com/en/api/errors). */
const ERROR_TYPE: Readonly<Record<number, string>> = {
  400: 'invalid_request_error', 401: 'authentication_error', 403: 'permission_error', 404: 'not_found_error',
  413: 'request_too_large', 429: 'rate_limit_error', 500: 'api_error', 529: 'overloaded_error',
};

const ERROR_MESSAGE: Readonly<Record<string, string>> = {
  overloaded_error: 'Overloaded',
  rate_limit_error: 'Number of request tokens has exceeded your per-minute rate limit.',
  api_error: 'Internal server error',
  authentication_error: 'invalid x-api-key',
  not_found_error: 'model: not found',
};

export const anthropicWire: MockWire = {
  family: 'anthropic',
  matches: (path) => path.endsWith('/v1/messages') || path.endsWith('/messages'),

  view(body): MockRequestView {
    const messages = (body.messages as Json[] | undefined) ?? [];
    const last = messages[messages.length - 1];
    const blocks = last && Array.isArray(last.content) ? (last.content as Json[]) : [];
    const toolResults = last?.role === 'user' ? blocks.filter((b) => b.type === 'tool_result').map((b) => contentText(b.content)) : [];
    // The gateway merges consecutive user messages into one turn: the prompt is its last text block.
    const userTexts = messages.filter((m) => m.role === 'user').flatMap((m) => (typeof m.content === 'string' ? [m.content] : textBlocksOf(m.content)));
    const tools = ((body.tools as Json[] | undefined) ?? []).map((t) => String(t.name));
    return { lastUserText: userTexts[userTexts.length - 1] ?? '', toolResults, tools };
  },

  events(turn: MockTurn, { model, id }): string[] {
    const out: string[] = [];
    const emit = (ev: Json) => out.push(typedEvent(ev));
    const u = defaultUsage(turn);
    // Anthropic's input_tokens excludes cached tokens; MockTurn usage is in Responses terms.
    const inputUsage = (turn.wireUsage as Json | undefined) ?? { input_tokens: Math.max(0, u.input - u.cached), cache_creation_input_tokens: 0, cache_read_input_tokens: u.cached };
    emit({
      type: 'message_start',
      message: { id: `msg_${id}`, type: 'message', role: 'assistant', content: [], model, stop_reason: null, stop_sequence: null, usage: { ...inputUsage, output_tokens: 1 } },
    });
    let pinged = false;
    const block = (index: number, contentBlock: Json, deltas: Json[]) => {
      emit({ type: 'content_block_start', index, content_block: contentBlock });
      if (!pinged) emit({ type: 'ping' });
      pinged = true;
      for (const delta of deltas) emit({ type: 'content_block_delta', index, delta });
      emit({ type: 'content_block_stop', index });
    };
    const toolUse = (index: number, name: string, input: string, callId: string | undefined) =>
      block(
        index,
        { type: 'tool_use', id: callId ?? `toolu_${id}_${index}`, name, input: {} },
        pieces(input, turn.chunkChars ?? 8).map((partial_json) => ({ type: 'input_json_delta', partial_json })),
      );

    for (const [index, part] of turn.parts.entries()) {
      if (turn.streamError && index >= turn.streamError.afterParts) break;
      switch (part.type) {
        case 'text':
          block(index, { type: 'text', text: '' }, pieces(part.text, turn.chunkChars).map((text) => ({ type: 'text_delta', text })));
          break;
        case 'reasoning': {
          const signature = part.signature ?? Buffer.from(`mock-signature:${id}:${index}`).toString('base64');
          const deltas: Json[] = pieces(part.text, turn.chunkChars).map((thinking) => ({ type: 'thinking_delta', thinking }));
          block(index, { type: 'thinking', thinking: '', signature: '' }, [...deltas, { type: 'signature_delta', signature }]);
          break;
        }
        case 'function_call':
          toolUse(index, part.name, part.arguments, part.call_id);
          break;
        case 'custom_tool_call':
          // Anthropic has no freeform tools: the gateway offers them as a function with one string argument.
          toolUse(index, part.name, JSON.stringify({ [CUSTOM_TOOL_INPUT_PARAM]: part.input }), part.call_id);
          break;
      }
    }
    if (turn.streamError) {
      const type = turn.streamError.type ?? 'overloaded_error';
      emit({ type: 'error', error: { type, message: turn.streamError.message } });
      return out;
    }
    const usesTools = turn.parts.some((p) => p.type === 'function_call' || p.type === 'custom_tool_call');
    const stopReason = turn.stop === 'max_tokens' ? 'max_tokens' : turn.stop === 'content_filter' ? 'refusal' : usesTools ? 'tool_use' : 'end_turn';
    const outputDetails = u.reasoning > 0 ? { output_tokens_details: { thinking_tokens: u.reasoning } } : {};
    emit({ type: 'message_delta', delta: { stop_reason: stopReason, stop_sequence: null }, usage: turn.wireUsage ?? { ...inputUsage, output_tokens: u.output, ...outputDetails } });
    emit({ type: 'message_stop' });
    return out;
  },

  errorResponse(err) {
    const type = err.type ?? ERROR_TYPE[err.status] ?? (err.status >= 500 ? 'api_error' : 'invalid_request_error');
    // Anthropic signals overload with its own status 529.
    const status = type === 'overloaded_error' ? 529 : err.status;
    const headers: Record<string, string> = { 'content-type': 'application/json', 'request-id': 'req_mock' };
    if (err.retryAfter !== undefined || status === 429) headers['retry-after'] = String(err.retryAfter ?? 1);
    const message = err.message ?? ERROR_MESSAGE[type] ?? `HTTP ${status}`;
    return { status, headers, body: JSON.stringify({ type: 'error', error: { type, message }, request_id: 'req_mock' }) };
  },
};
