// Mock of the OpenAI Chat Completions streaming wire format: `data: <chat.completion.chunk>` per
// event (no event lines), a role chunk first, content / reasoning_content / tool_calls deltas, a
// finish_reason chunk, the stream_options.include_usage chunk (`choices: []`), then `data: [DONE]`.
import { CUSTOM_TOOL_INPUT_PARAM } from '../output';
import { defaultUsage, pieces, type MockTurn } from './script';
import { openaiErrorResponse } from './openai-responses';
import { contentText, type MockRequestView, type MockWire } from './wire';

type Json = Record<string, unknown>;

function frame(payload: Json | string): string {
  return `data: ${typeof payload === 'string' ? payload : JSON.stringify(payload)}\n\n`;
}

export const openaiChatWire: MockWire = {
  family: 'openai-chat',
  matches: (path) => path.endsWith('/chat/completions'),

  view(body): MockRequestView {
    const messages = (body.messages as Json[]) ?? [];
    const toolResults: string[] = [];
    for (let i = messages.length - 1; i >= 0 && messages[i].role === 'tool'; i--) toolResults.unshift(contentText(messages[i].content));
    const lastUser = [...messages].reverse().find((m) => m.role === 'user');
    const tools = ((body.tools as Json[]) ?? []).map((t) => String((t.function as Json | undefined)?.name ?? t.type));
    return { lastUserText: lastUser ? contentText(lastUser.content) : '', toolResults, tools };
  },

  events(turn: MockTurn, { model, id }): string[] {
    const created = Math.floor(Date.now() / 1000);
    // With include_usage, every chunk but the last carries `usage: null` (OpenAI API reference).
    const chunk = (choices: Json[], usage: Json | null = null): string =>
      frame({ id: `chatcmpl-${id}`, object: 'chat.completion.chunk', created, model, system_fingerprint: null, choices, usage });
    const delta = (d: Json, finish: string | null = null): string => chunk([{ index: 0, delta: d, logprobs: null, finish_reason: finish }]);

    const out: string[] = [delta({ role: 'assistant', content: '', refusal: null })];
    let calls = 0;
    turn.parts.forEach((part, n) => {
      if (turn.streamError && n >= turn.streamError.afterParts) return;
      switch (part.type) {
        case 'text':
          for (const p of pieces(part.text, turn.chunkChars)) out.push(delta({ content: p }));
          return;
        case 'reasoning':
          // DeepSeek / vLLM field; Chat has nowhere for a signature.
          for (const p of pieces(part.text, turn.chunkChars)) out.push(delta({ reasoning_content: p }));
          return;
        case 'function_call':
        case 'custom_tool_call': {
          // Chat has function tools only: a custom tool call is a function call with {"input": raw}.
          const args = part.type === 'function_call' ? part.arguments : JSON.stringify({ [CUSTOM_TOOL_INPUT_PARAM]: part.input });
          const index = calls++;
          const callId = part.call_id ?? `call_${id}_${n}`;
          out.push(delta({ tool_calls: [{ index, id: callId, type: 'function', function: { name: part.name, arguments: '' } }] }));
          for (const p of pieces(args, turn.chunkChars ?? 8)) out.push(delta({ tool_calls: [{ index, function: { arguments: p } }] }));
          return;
        }
      }
    });
    if (turn.streamError) {
      // vLLM's create_streaming_error_response shape, followed by [DONE] as vLLM does.
      const type = turn.streamError.type ?? 'server_error';
      out.push(frame({ error: { message: turn.streamError.message, type, param: null, code: type } }));
      out.push(frame('[DONE]'));
      return out;
    }
    const finish = turn.stop === 'max_tokens' ? 'length' : turn.stop === 'content_filter' ? 'content_filter' : calls > 0 ? 'tool_calls' : 'stop';
    out.push(delta({}, finish));
    const u = defaultUsage(turn);
    if (!turn.omitUsage) out.push(chunk([], (turn.wireUsage as Json | undefined) ?? {
      prompt_tokens: u.input,
      completion_tokens: u.output,
      total_tokens: u.input + u.output,
      prompt_tokens_details: { cached_tokens: u.cached },
      completion_tokens_details: { reasoning_tokens: u.reasoning },
    }));
    out.push(frame('[DONE]'));
    return out;
  },

  errorResponse: openaiErrorResponse,
};
