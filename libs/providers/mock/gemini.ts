// Mock of Gemini's `models/{model}:streamGenerateContent?alt=sse` wire format: one
// `data: <GenerateContentResponse>\r\n\r\n` per chunk, no event lines, no end marker (the stream just
// ends). Thoughts are `thought: true` text parts whose signature rides on the next part; function
// calls arrive whole (`functionCall {name, args}`); the last chunk carries finishReason and usage.
import { defaultUsage, pieces, type MockTurn } from './script';
import type { MockRequestView, MockWire } from './wire';

type Json = Record<string, unknown>;

function frame(chunk: Json): string {
  return `data: ${JSON.stringify(chunk)}\r\n\r\n`;
}

const STATUS: Record<number, string> = {
  400: 'INVALID_ARGUMENT', 401: 'UNAUTHENTICATED', 403: 'PERMISSION_DENIED', 404: 'NOT_FOUND',
  429: 'RESOURCE_EXHAUSTED', 500: 'INTERNAL', 503: 'UNAVAILABLE', 504: 'DEADLINE_EXCEEDED',
};

const MESSAGES: Record<number, string> = {
  400: 'Request contains an invalid argument.',
  403: 'The caller does not have permission',
  404: 'models/mock-model is not found for API version v1beta, or is not supported for generateContent.',
  429: 'You exceeded your current quota, please check your plan and billing details.',
  500: 'An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting',
  503: 'The model is overloaded. Please try again later.',
};

function partsText(parts: unknown): string {
  if (!Array.isArray(parts)) return '';
  return parts.map((p: Json) => (typeof p.text === 'string' && p.thought !== true ? p.text : '')).join('');
}

export const geminiWire: MockWire = {
  family: 'gemini',
  matches: (path) => /\/models\/[^/]+:streamGenerateContent$/.test(path),

  view(body): MockRequestView {
    const contents = (body.contents as Json[]) ?? [];
    const last = contents[contents.length - 1];
    const toolResults: string[] = [];
    if (last?.role === 'user') {
      for (const p of (last.parts as Json[]) ?? []) {
        const fr = p.functionResponse as { response?: Json } | undefined;
        if (!fr) continue;
        const output = fr.response?.output;
        toolResults.push(typeof output === 'string' ? output : JSON.stringify(fr.response ?? {}));
      }
    }
    const lastUser = [...contents].reverse().find((c) => c.role === 'user' && ((c.parts as Json[]) ?? []).some((p) => typeof p.text === 'string'));
    const tools = ((body.tools as Json[]) ?? []).flatMap((t) => ((t.functionDeclarations as Json[]) ?? []).map((d) => String(d.name)));
    return { lastUserText: lastUser ? partsText(lastUser.parts) : '', toolResults, tools };
  },

  events(turn: MockTurn, { model, id }): string[] {
    const out: string[] = [];
    const u = defaultUsage(turn);
    const prompt: Json = (turn.wireUsage as Json | undefined) ?? { promptTokenCount: u.input, totalTokenCount: u.input, promptTokensDetails: [{ modality: 'TEXT', tokenCount: u.input }] };
    if (u.cached > 0 && !turn.wireUsage) prompt.cachedContentTokenCount = u.cached;
    const emit = (parts: Json[] | null, extra: Json = {}, usage: Json = prompt) => {
      const candidate: Json = parts ? { content: { parts, role: 'model' }, ...extra, index: 0 } : { ...extra, index: 0 };
      out.push(frame({ candidates: [candidate], usageMetadata: usage, modelVersion: model, responseId: id }));
    };

    // A reasoning part's signature is attached to the first part that follows it.
    let signature: string | undefined;
    const signed = (part: Json): Json => {
      if (signature === undefined) return part;
      const withSig = { ...part, thoughtSignature: signature };
      signature = undefined;
      return withSig;
    };

    turn.parts.forEach((part, index) => {
      if (turn.streamError && index >= turn.streamError.afterParts) return;
      switch (part.type) {
        case 'text':
          for (const text of pieces(part.text, turn.chunkChars)) emit([signed({ text })]);
          return;
        case 'reasoning':
          for (const text of pieces(part.text, turn.chunkChars)) emit([{ text, thought: true }]);
          signature = part.signature;
          return;
        case 'function_call': {
          let args: unknown = {};
          try {
            args = JSON.parse(part.arguments || '{}');
          } catch {
            // the scripted arguments are not JSON: Gemini would never send that, so send none
          }
          emit([signed({ functionCall: { name: part.name, args, ...(part.call_id ? { id: part.call_id } : {}) } })]);
          return;
        }
        case 'custom_tool_call':
          // Gemini has no freeform tools: the gateway offers them as a function with one `input` string.
          emit([signed({ functionCall: { name: part.name, args: { input: part.input }, ...(part.call_id ? { id: part.call_id } : {}) } })]);
          return;
      }
    });

    if (turn.streamError) {
      // The public API has no in-stream error event: the stream stops without a finishReason.
      emit([{ text: '' }]);
      return out;
    }
    const usage: Json = (turn.wireUsage as Json | undefined) ?? {
      ...prompt,
      candidatesTokenCount: Math.max(0, u.output - u.reasoning),
      totalTokenCount: u.input + u.output,
    };
    if (u.reasoning > 0 && !turn.wireUsage) usage.thoughtsTokenCount = u.reasoning;
    if (turn.stop === 'content_filter') {
      // A blocked candidate has no content, only the reason and its safety ratings.
      emit(null, {
        finishReason: 'SAFETY',
        safetyRatings: [
          { category: 'HARM_CATEGORY_SEXUALLY_EXPLICIT', probability: 'NEGLIGIBLE' },
          { category: 'HARM_CATEGORY_HATE_SPEECH', probability: 'NEGLIGIBLE' },
          { category: 'HARM_CATEGORY_HARASSMENT', probability: 'NEGLIGIBLE' },
          { category: 'HARM_CATEGORY_DANGEROUS_CONTENT', probability: 'HIGH', blocked: true },
        ],
      }, usage);
    } else {
      emit([signed({ text: '' })], { finishReason: turn.stop === 'max_tokens' ? 'MAX_TOKENS' : 'STOP' }, usage);
    }
    return out;
  },

  errorResponse(err) {
    const status = err.type ?? STATUS[err.status] ?? (err.status >= 500 ? 'INTERNAL' : 'FAILED_PRECONDITION');
    const message = err.message ?? MESSAGES[err.status] ?? `HTTP ${err.status}`;
    const details: Json[] = [];
    if (err.status === 429) {
      details.push({ '@type': 'type.googleapis.com/google.rpc.QuotaFailure', violations: [{ quotaId: 'GenerateRequestsPerMinutePerProjectPerModel-FreeTier' }] });
      if (err.retryAfter !== undefined) details.push({ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: `${err.retryAfter}s` });
    }
    const error: Json = { code: err.status, message, status };
    if (details.length > 0) error.details = details;
    // Google sends the delay in RetryInfo, not in a Retry-After header.
    return { status: err.status, headers: { 'content-type': 'application/json; charset=UTF-8' }, body: JSON.stringify({ error }) };
  },
};

interface MockCache { name: string; model: string; head: Json; contents: Json[]; tokens: number; expiresAt: number }

/** The mock's ~4 characters a token, for what a cache holds. */
const tokensOf = (value: unknown) => Math.ceil(JSON.stringify(value).length / 4);

type MockAnswer = { status: number; headers: Record<string, string>; body: string };

/**
 * Gemini's explicit context caches (`POST …/cachedContents`): created with a TTL, named
 * `cachedContents/…`, used by a request's `cachedContent`, which may then carry no system
 * instruction, tools or tool config; an expired or unknown name gets Google's 403.
 */
export class MockContextCaches {
  /** Every create call's body, in order. */
  readonly creates: Json[] = [];
  private readonly live = new Map<string, MockCache>();
  private counter = 0;

  /** `minTokens`: a smaller cache is refused, as Google refuses one under the model's minimum. */
  constructor(private readonly minTokens = 0) {}

  static matches(path: string): boolean {
    return /\/cachedContents$/.test(path);
  }

  create(body: Json): MockAnswer {
    this.creates.push(body);
    const model = typeof body.model === 'string' ? body.model : '';
    const ttl = /^(\d+(?:\.\d+)?)s$/.exec(String(body.ttl ?? '3600s'));
    if (!model.startsWith('models/') && !model.includes('/models/')) return googleError(400, 'INVALID_ARGUMENT', `Invalid model name "${model}": use models/{model}.`);
    if (!ttl) return googleError(400, 'INVALID_ARGUMENT', `Invalid value at 'cached_content.ttl' (type.googleapis.com/google.protobuf.Duration), "${String(body.ttl)}"`);
    const head: Json = {};
    for (const k of ['systemInstruction', 'tools', 'toolConfig']) if (body[k] !== undefined) head[k] = body[k];
    const contents = (body.contents as Json[] | undefined) ?? [];
    const tokens = tokensOf(head) + tokensOf(contents);
    if (tokens < this.minTokens) return googleError(400, 'INVALID_ARGUMENT', `Cached content is too small. total_token_count=${tokens}, min_total_token_count=${this.minTokens}`);
    const now = Date.now();
    const cache: MockCache = { name: `cachedContents/mock${++this.counter}`, model, head, contents, tokens, expiresAt: now + Number(ttl[1]) * 1000 };
    this.live.set(cache.name, cache);
    const answer = { name: cache.name, model, createTime: new Date(now).toISOString(), updateTime: new Date(now).toISOString(), expireTime: new Date(cache.expiresAt).toISOString(), usageMetadata: { totalTokenCount: tokens } };
    return { status: 200, headers: { 'content-type': 'application/json; charset=UTF-8' }, body: JSON.stringify(answer) };
  }

  /**
   * A generateContent body as the model reads it (the cache's prefix, then the request's contents)
   * and the tokens read from the cache; an error answer for a name the mock does not have (any more)
   * or a request that repeats what the cache holds; null when the body names no cache.
   */
  resolve(body: Json, model: string): { body: Json; cachedTokens: number } | { error: MockAnswer } | null {
    if (typeof body.cachedContent !== 'string') return null;
    if (['systemInstruction', 'tools', 'toolConfig'].some((k) => body[k] !== undefined)) {
      return { error: googleError(400, 'INVALID_ARGUMENT', 'CachedContent can not be used with GenerateContent request setting system_instruction, tools or tool_config.\n\nProposed fix: move those values to CachedContent from GenerateContent request.') };
    }
    const cache = this.live.get(body.cachedContent);
    if (!cache || cache.expiresAt <= Date.now()) return { error: googleError(403, 'PERMISSION_DENIED', 'CachedContent not found (or permission denied)') };
    if (!cache.model.endsWith(`models/${model}`)) return { error: googleError(400, 'INVALID_ARGUMENT', `Model used by GenerateContent request (models/${model}) and CachedContent (${cache.model}) has to be the same.`) };
    const { cachedContent: _name, ...rest } = body;
    return { body: { ...rest, ...cache.head, contents: [...cache.contents, ...((body.contents as Json[]) ?? [])] }, cachedTokens: cache.tokens };
  }

  /** Every cache expires now, as at the end of its TTL. */
  expireAll(): void {
    for (const cache of this.live.values()) cache.expiresAt = 0;
  }

  reset(): void {
    this.creates.length = 0;
    this.live.clear();
  }
}

function googleError(status: number, code: string, message: string): MockAnswer {
  return { status, headers: { 'content-type': 'application/json; charset=UTF-8' }, body: JSON.stringify({ error: { code: status, message, status: code } }) };
}
