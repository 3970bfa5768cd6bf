// Mock of the OpenAI Responses streaming wire format: `event: <type>` + `data: <json>` per event,
// increasing sequence_number, terminal response.completed / response.incomplete, no [DONE].
import { defaultUsage, pieces, type MockTurn } from './script';
import { contentText, typedEvent, type MockRequestView, type MockWire } from './wire';

type Json = Record<string, unknown>;

/** OpenAI's HTTP error body (`{"error":{message,type,param,code}}`), shared by OpenAI-shaped APIs. */
export function openaiErrorResponse(err: NonNullable<MockTurn['httpError']>): ReturnType<MockWire['errorResponse']> {
  const type = err.type ?? (err.status === 429 ? 'rate_limit_exceeded' : err.status >= 500 ? 'server_error' : 'invalid_request_error');
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (err.retryAfter !== undefined) headers['retry-after'] = String(err.retryAfter);
  const message = err.message ?? (err.status >= 500 ? 'The server had an error while processing your request. Sorry about that!' : `HTTP ${err.status}`);
  return { status: err.status, headers, body: JSON.stringify({ error: { message, type, param: null, code: err.status === 429 ? 'rate_limit_exceeded' : type } }) };
}

export const openaiResponsesWire: MockWire = {
  family: 'openai-responses',
  matches: (path) => path.endsWith('/responses'),

  view(body): MockRequestView {
    const input = typeof body.input === 'string' ? [{ type: 'message', role: 'user', content: body.input }] : ((body.input as Json[]) ?? []);
    const toolResults: string[] = [];
    for (let i = input.length - 1; i >= 0 && String(input[i].type).endsWith('_output'); i--) toolResults.unshift(contentText(input[i].output));
    // A message may come without `type` (the API's easy-input shape, as the SDKs send it).
    const lastUser = [...input].reverse().find((i) => (i.type ?? 'message') === 'message' && i.role === 'user');
    const tools = ((body.tools as Json[]) ?? []).map((t) => String(t.name ?? t.type));
    return { lastUserText: lastUser ? contentText(lastUser.content) : '', toolResults, tools };
  },

  events(turn: MockTurn, { model, id }): string[] {
    let seq = 0;
    const out: string[] = [];
    const emit = (ev: Json) => out.push(typedEvent({ ...ev, sequence_number: seq++ }));
    const response = (status: string, extra: Json = {}) => ({
      id, object: 'response', created_at: Math.floor(Date.now() / 1000), status, model, output: [], ...turn.responseFields, ...extra,
    });
    emit({ type: 'response.created', response: response('in_progress') });
    emit({ type: 'response.in_progress', response: response('in_progress') });
    const done: Json[] = [];
    turn.parts.forEach((part, index) => {
      if (turn.streamError && index >= turn.streamError.afterParts) return;
      switch (part.type) {
        case 'text': {
          const itemId = `msg_${id}_${index}`;
          emit({ type: 'response.output_item.added', output_index: index, item: { id: itemId, type: 'message', status: 'in_progress', content: [], role: 'assistant' } });
          emit({ type: 'response.content_part.added', item_id: itemId, output_index: index, content_index: 0, part: { type: 'output_text', annotations: [], logprobs: [], text: '' } });
          for (const delta of pieces(part.text, turn.chunkChars)) {
            emit({ type: 'response.output_text.delta', item_id: itemId, output_index: index, content_index: 0, delta, logprobs: [] });
          }
          emit({ type: 'response.output_text.done', item_id: itemId, output_index: index, content_index: 0, text: part.text, logprobs: [] });
          const textPart = { type: 'output_text', annotations: [], logprobs: [], text: part.text };
          emit({ type: 'response.content_part.done', item_id: itemId, output_index: index, content_index: 0, part: textPart });
          const item = { id: itemId, type: 'message', status: 'completed', content: [textPart], role: 'assistant' };
          done.push(item);
          emit({ type: 'response.output_item.done', output_index: index, item });
          return;
        }
        case 'reasoning': {
          const itemId = `rs_${id}_${index}`;
          emit({ type: 'response.output_item.added', output_index: index, item: { id: itemId, type: 'reasoning', summary: [] } });
          emit({ type: 'response.reasoning_summary_part.added', item_id: itemId, output_index: index, summary_index: 0, part: { type: 'summary_text', text: '' } });
          for (const delta of pieces(part.text, turn.chunkChars)) {
            emit({ type: 'response.reasoning_summary_text.delta', item_id: itemId, output_index: index, summary_index: 0, delta });
          }
          emit({ type: 'response.reasoning_summary_text.done', item_id: itemId, output_index: index, summary_index: 0, text: part.text });
          const item = { id: itemId, type: 'reasoning', summary: [{ type: 'summary_text', text: part.text }], encrypted_content: part.signature ?? null };
          done.push(item);
          emit({ type: 'response.output_item.done', output_index: index, item });
          return;
        }
        case 'function_call': {
          const itemId = `fc_${id}_${index}`;
          const callId = part.call_id ?? `call_${id}_${index}`;
          emit({ type: 'response.output_item.added', output_index: index, item: { id: itemId, type: 'function_call', status: 'in_progress', arguments: '', call_id: callId, name: part.name } });
          for (const delta of pieces(part.arguments, turn.chunkChars ?? 8)) {
            emit({ type: 'response.function_call_arguments.delta', item_id: itemId, output_index: index, delta });
          }
          emit({ type: 'response.function_call_arguments.done', item_id: itemId, output_index: index, arguments: part.arguments });
          const item = { id: itemId, type: 'function_call', status: 'completed', arguments: part.arguments, call_id: callId, name: part.name };
          done.push(item);
          emit({ type: 'response.output_item.done', output_index: index, item });
          return;
        }
        case 'custom_tool_call': {
          const itemId = `ctc_${id}_${index}`;
          const callId = part.call_id ?? `call_${id}_${index}`;
          emit({ type: 'response.output_item.added', output_index: index, item: { id: itemId, type: 'custom_tool_call', status: 'in_progress', call_id: callId, input: '', name: part.name } });
          for (const delta of pieces(part.input, turn.chunkChars)) {
            emit({ type: 'response.custom_tool_call_input.delta', item_id: itemId, output_index: index, delta });
          }
          emit({ type: 'response.custom_tool_call_input.done', item_id: itemId, output_index: index, input: part.input });
          const item = { id: itemId, type: 'custom_tool_call', status: 'completed', call_id: callId, input: part.input, name: part.name };
          done.push(item);
          emit({ type: 'response.output_item.done', output_index: index, item });
          return;
        }
      }
    });
    if (turn.streamError) {
      const code = turn.streamError.type ?? 'server_error';
      emit({ type: 'error', code, message: turn.streamError.message, param: null });
      emit({ type: 'response.failed', response: response('failed', { error: { code, message: turn.streamError.message } }) });
      return out;
    }
    const u = defaultUsage(turn);
    const usage = turn.wireUsage ?? {
      input_tokens: u.input, input_tokens_details: { cached_tokens: u.cached },
      output_tokens: u.output, output_tokens_details: { reasoning_tokens: u.reasoning }, total_tokens: u.input + u.output,
    };
    if (turn.stop === 'max_tokens' || turn.stop === 'content_filter') {
      const reason = turn.stop === 'max_tokens' ? 'max_output_tokens' : 'content_filter';
      emit({ type: 'response.incomplete', response: response('incomplete', { output: done, usage, incomplete_details: { reason } }) });
    } else {
      emit({ type: 'response.completed', response: response('completed', { output: done, usage }) });
    }
    return out;
  },

  errorResponse: openaiErrorResponse,
};
