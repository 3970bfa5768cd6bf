// gemini stream mapper: each SSE `data:` chunk is a complete GenerateContentResponse whose parts
// become Responses items. Gemini has no end event: the last chunk's finishReason decides the
// terminal in onEnd().
import { streamFailure } from '../errors';
import type { OutputBuilder } from '../output';
import type { StreamMapper, UpstreamFailure } from '../types';
import { googleFailure, NAME, type GoogleError } from './errors';
import { isObject, type Json } from './schema';
import { encodeGeminiState, type SignatureRef } from './state';
import { addUsageMetadata, geminiUsage, type UsageMetadata } from './usage';

interface PartialArg { jsonPath?: string; stringValue?: string; numberValue?: number; boolValue?: boolean; nullValue?: unknown; willContinue?: boolean }
interface FunctionCallPart { name?: string; args?: Json; id?: string; partialArgs?: PartialArg[]; willContinue?: boolean }
interface Part { text?: string; thought?: boolean; thoughtSignature?: string; functionCall?: FunctionCallPart }
interface Chunk {
  candidates?: Array<{ content?: { parts?: Part[] }; finishReason?: string; finishMessage?: string }>;
  promptFeedback?: { blockReason?: string };
  usageMetadata?: UsageMetadata;
  error?: GoogleError;
}

/** A function call whose arguments stream as `partialArgs` (Vertex AI streamFunctionCallArguments). */
interface StreamedCall { index: number; callId: string; name: string; args: Json; openString: string | null }

const CONTENT_FILTER = new Set(['SAFETY', 'RECITATION', 'PROHIBITED_CONTENT', 'BLOCKLIST', 'SPII', 'IMAGE_SAFETY', 'IMAGE_PROHIBITED_CONTENT', 'MODEL_ARMOR']);

export class GeminiStreamMapper implements StreamMapper {
  private reasoning = -1;
  private reasoningSigs: SignatureRef[] = [];
  private message = -1;
  /** The id of the last message item, open or done: a text signature belongs to it. */
  private messageId = '';
  private call: StreamedCall | null = null;
  /** The signature of a thought part: it belongs to the next visible part. */
  private pendingSig: string | null = null;
  private finishReason: string | null = null;
  /** Candidate.finishMessage: Gemini's explanation of an abnormal finishReason. */
  private finishDetail = '';
  private blockReason: string | null = null;
  private usage: UsageMetadata | null = null;
  constructor(private readonly out: OutputBuilder) {}

  onEvent(_event: string | undefined, data: string): void {
    const doc = JSON.parse(data) as Chunk | Chunk[];
    for (const chunk of Array.isArray(doc) ? doc : [doc]) this.onChunk(chunk);
  }

  onEnd(): void {
    if (this.out.terminal) return;
    if (this.blockReason) {
      this.out.completed(geminiUsage(this.usage), 'content_filter');
      return;
    }
    // No finishReason: the stream was cut. Leave the terminal unset; the worker fails the response.
    if (!this.finishReason) return;
    this.finishCall();
    if (this.pendingSig && this.messageId) this.addSignature({ sig: this.pendingSig, msg_id: this.messageId });
    const reason = this.finishReason;
    if (reason === 'STOP') this.out.completed(geminiUsage(this.usage));
    else if (reason === 'MAX_TOKENS') this.out.completed(geminiUsage(this.usage), 'max_output_tokens');
    else if (CONTENT_FILTER.has(reason)) this.out.completed(geminiUsage(this.usage), 'content_filter');
    else {
      const what = reason === 'MALFORMED_FUNCTION_CALL' ? 'the model produced a malformed function call' : `generation stopped (finishReason ${reason})`;
      const detail = this.finishDetail ? `${what}: ${this.finishDetail}` : what;
      this.fail(streamFailure(NAME, `${detail}. Retry the request.`, true, reason === 'MALFORMED_FUNCTION_CALL' ? 'malformed_function_call' : 'upstream_error'));
    }
  }

  private onChunk(chunk: Chunk): void {
    if (chunk.error) {
      this.fail(googleFailure(chunk.error, null, null));
      return;
    }
    if (chunk.usageMetadata) this.usage = addUsageMetadata(this.usage, chunk.usageMetadata);
    if (chunk.promptFeedback?.blockReason) this.blockReason = chunk.promptFeedback.blockReason;
    const candidate = chunk.candidates?.[0];
    if (!candidate) return;
    for (const part of candidate.content?.parts ?? []) this.onPart(part);
    if (candidate.finishReason) this.finishReason = candidate.finishReason;
    if (candidate.finishMessage) this.finishDetail = candidate.finishMessage;
  }

  private onPart(part: Part): void {
    if (part.thought === true) {
      this.finishMessage();
      if (this.reasoning < 0) this.reasoning = this.out.startReasoning();
      this.out.appendReasoning(this.reasoning, part.text ?? '');
      if (part.thoughtSignature) this.pendingSig = part.thoughtSignature;
      return;
    }
    const sig = part.thoughtSignature ?? null;
    if (part.functionCall) {
      this.onFunctionCall(part.functionCall, sig);
      return;
    }
    if (typeof part.text !== 'string') return; // inlineData, executableCode…: not part of a Codex turn
    const textSig = sig ?? (part.text !== '' ? this.takePending() : null);
    if (part.text !== '' && this.message < 0) {
      // A new message: its signature goes into the reasoning item before it, which is then done.
      this.messageId = this.out.newId('msg');
      if (textSig) this.addSignature({ sig: textSig, msg_id: this.messageId });
      this.finishReasoning();
      this.message = this.out.startMessage(this.messageId);
    } else if (textSig && this.messageId) {
      // A signature on later text (often an empty last part) belongs to the message; with no message
      // there is no part to put it back on.
      this.addSignature({ sig: textSig, msg_id: this.messageId });
    }
    this.out.appendText(this.message, part.text);
  }

  private onFunctionCall(fc: FunctionCallPart, sig: string | null): void {
    if (this.call) {
      if (fc.name === undefined) {
        this.applyPartialArgs(this.call, fc.partialArgs);
        if (!fc.willContinue) this.finishCall();
        return;
      }
      this.finishCall();
    }
    if (!fc.name) return; // a stray closing `functionCall: {}`
    const callId = fc.id || this.out.newId('call');
    // Items keep Gemini's part order: text before the call is done before it.
    this.finishMessage();
    const signature = sig ?? this.takePending();
    if (signature) this.addSignature({ sig: signature, call_id: callId });
    this.finishReasoning();
    const index = this.out.startToolCall(callId, fc.name);
    this.call = { index, callId, name: fc.name, args: isObject(fc.args) ? { ...fc.args } : {}, openString: null };
    this.applyPartialArgs(this.call, fc.partialArgs);
    if (!fc.willContinue) this.finishCall();
  }

  private applyPartialArgs(call: StreamedCall, partials: PartialArg[] | undefined): void {
    for (const p of partials ?? []) {
      if (typeof p.jsonPath !== 'string') continue;
      const path = parseJsonPath(p.jsonPath);
      if (!path) continue;
      let value: unknown;
      if (typeof p.stringValue === 'string') {
        // A string arrives in pieces while willContinue is set on the previous piece of the same path.
        const prior = call.openString === p.jsonPath ? getPath(call.args, path) : undefined;
        value = (typeof prior === 'string' ? prior : '') + p.stringValue;
      } else if (typeof p.numberValue === 'number') value = p.numberValue;
      else if (typeof p.boolValue === 'boolean') value = p.boolValue;
      else if ('nullValue' in p) value = null;
      else continue;
      setPath(call.args, path, value);
      call.openString = typeof p.stringValue === 'string' && p.willContinue ? p.jsonPath : null;
    }
  }

  private finishCall(): void {
    const call = this.call;
    if (!call) return;
    this.call = null;
    const args = JSON.stringify(call.args);
    this.out.appendArguments(call.index, args);
    this.out.finish(call.index);
  }

  /** Signatures go into the open reasoning item, or a new one placed before the part they sign. */
  private addSignature(ref: SignatureRef): void {
    if (this.reasoning < 0) this.reasoning = this.out.startReasoning();
    this.reasoningSigs.push(ref);
    this.out.setEncryptedContent(this.reasoning, encodeGeminiState(this.reasoningSigs));
  }

  /** A message is text parts in a row; any other part ends it (its id stays for a late signature). */
  private finishMessage(): void {
    if (this.message < 0) return;
    this.out.finish(this.message);
    this.message = -1;
  }

  private finishReasoning(): void {
    if (this.reasoning < 0) return;
    this.out.finish(this.reasoning);
    this.reasoning = -1;
    this.reasoningSigs = [];
  }

  private takePending(): string | null {
    const sig = this.pendingSig;
    this.pendingSig = null;
    return sig;
  }

  private fail(f: UpstreamFailure): void {
    this.out.failed(f.error, f.httpStatus, f.retryable, f.retryAfterSeconds);
  }
}

type PathKey = string | number;

/** `$.a.b[0]['c d']` → ['a', 'b', 0, 'c d'] (the JSONPath subset used by partialArgs), or null. */
export function parseJsonPath(path: string): PathKey[] | null {
  if (!path.startsWith('$')) return null;
  const keys: PathKey[] = [];
  const re = /\.([^.[\]]+)|\[(\d+)\]|\[(['"])((?:\\.|(?!\3).)*)\3\]/gy;
  re.lastIndex = 1;
  while (re.lastIndex < path.length) {
    const m = re.exec(path);
    if (!m) return null;
    if (m[1] !== undefined) keys.push(m[1]);
    else if (m[2] !== undefined) keys.push(Number(m[2]));
    else keys.push(m[4].replace(/\\(.)/g, '$1'));
  }
  return keys.length > 0 ? keys : null;
}

function getPath(root: Json, path: PathKey[]): unknown {
  let node: unknown = root;
  for (const key of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<PathKey, unknown>)[key];
  }
  return node;
}

function setPath(root: Json, path: PathKey[], value: unknown): void {
  let node: Record<PathKey, unknown> = root;
  path.forEach((key, i) => {
    if (i === path.length - 1) {
      node[key] = value;
      return;
    }
    const next = node[key];
    if (next === null || typeof next !== 'object') node[key] = typeof path[i + 1] === 'number' ? [] : {};
    node = node[key] as Record<PathKey, unknown>;
  });
}

