// OutputBuilder: the one place where a provider's stream becomes Responses output items. Adapters
// call start/append/finish; the builder assigns output indexes and item ids, keeps each item's
// accumulated text so that `ItemDone` carries the complete item (Codex acts only on
// `response.output_item.done`), and records the terminal outcome for the worker to act on.
import type { ApiError, CustomToolCallItem, FunctionCallItem, MessageItem, NamespaceTool, OutputItem, PassThroughEvent, ReasoningItem, Tool, Usage } from '../protocol/types';
import { F, type Frame, type TerminalFrame } from '../wire/frames';
import { isRouterHubState, tagState } from './reasoning-state';

export interface FrameSink { push(frame: Frame): void }

/** A function tool that stands in for a freeform (custom) tool on providers that have none. */
export const CUSTOM_TOOL_INPUT_PARAM = 'input';

interface OpenItem {
  item: OutputItem;
  /** Arguments of a function call that is really a custom tool call (emulated on this provider). */
  emulatedCustom: boolean;
  args: string;
}

export class OutputBuilder {
  /** True once anything the client can see was produced: from then on there is no failover. */
  hasOutput = false;
  terminal: TerminalFrame | null = null;
  /** With a Failed terminal: may another deployment succeed? */
  retryable = false;
  /** Characters of output streamed so far: what a response that ends without the provider's usage is billed by. */
  outputChars = 0;
  private readonly open = new Map<number, OpenItem>();
  private next = 0;
  private idSeq = 0;

  /** The request's custom (freeform) tools, for providers that only have function tools. */
  private readonly customTools = new Set<string>();
  /** Tools that sit inside a Codex `namespace` tool → that namespace (Codex routes calls by both). */
  private readonly namespaces = new Map<string, string>();

  constructor(
    private readonly sink: FrameSink,
    /** Unique per response; item ids are `<kind>_<idBase><n>`. */
    private readonly idBase: string,
    tools: readonly Tool[] = [],
    /** Tags the upstream's own reasoning state with the deployment that made it (reasoning-state.ts). */
    private readonly stateTag: string | null = null,
  ) {
    this.learnTools(tools, undefined);
  }

  newId(kind: string): string {
    return `${kind}_${this.idBase}${this.idSeq++}`;
  }

  startMessage(id = this.newId('msg')): number {
    return this.start({ type: 'message', id, role: 'assistant', status: 'in_progress', content: [] });
  }

  appendText(index: number, delta: string): void {
    if (delta === '') return;
    const open = this.open.get(index);
    if (!open) return;
    open.args += delta;
    this.outputChars += delta.length;
    this.sink.push([F.TextDelta, index, delta]);
  }

  startReasoning(id = this.newId('rs')): number {
    return this.start({ type: 'reasoning', id, summary: [] });
  }

  /** Reasoning shown to the user (Responses "summary"; Anthropic/Gemini thinking text). */
  appendReasoning(index: number, delta: string, summaryIndex = 0): void {
    if (delta === '') return;
    const open = this.open.get(index);
    if (!open || open.item.type !== 'reasoning') return;
    const summary = open.item.summary;
    while (summary.length <= summaryIndex) summary.push({ type: 'summary_text', text: '' });
    summary[summaryIndex].text += delta;
    this.outputChars += delta.length;
    this.sink.push([F.ReasoningDelta, index, summaryIndex, delta]);
  }

  /** Opaque provider state (a thinking signature) that Codex sends back unchanged next turn. */
  setEncryptedContent(index: number, value: string): void {
    const open = this.open.get(index);
    if (open?.item.type === 'reasoning') open.item.encrypted_content = value;
  }

  /**
   * A tool call from a provider that only knows function tools. A call to one of the request's
   * custom tools comes back as a `custom_tool_call` whose input is the `input` argument.
   */
  startToolCall(callId: string, name: string): number {
    if (this.customTools.has(name)) {
      const index = this.startCustomCall(callId, name);
      this.open.get(index)!.emulatedCustom = true;
      return index;
    }
    return this.startFunctionCall(callId, name, undefined, this.namespaces.get(name));
  }

  /** `namespace`: the call is to a tool of a Codex `namespace` tool, which Codex routes by it. */
  startFunctionCall(callId: string, name: string, id = this.newId('fc'), namespace?: string): number {
    return this.start({ type: 'function_call', id, call_id: callId, name, arguments: '', status: 'in_progress', ...(namespace ? { namespace } : {}) });
  }

  appendArguments(index: number, delta: string): void {
    if (delta === '') return;
    const open = this.open.get(index);
    if (!open) return;
    open.args += delta;
    this.outputChars += delta.length;
    // An emulated custom call streams JSON; its raw input is known only when the call is done.
    if (!open.emulatedCustom) this.sink.push([F.ArgsDelta, index, delta]);
  }

  startCustomCall(callId: string, name: string, id = this.newId('ctc')): number {
    return this.start({ type: 'custom_tool_call', id, call_id: callId, name, input: '', status: 'in_progress' });
  }

  appendCustomInput(index: number, delta: string): void {
    if (delta === '') return;
    const open = this.open.get(index);
    if (!open) return;
    open.args += delta;
    this.outputChars += delta.length;
    this.sink.push([F.CustomInputDelta, index, delta]);
  }

  /** An upstream's own settings for the Response object (temperature, service_tier, …): they replace the request's. */
  responseFields(fields: Record<string, unknown>): void {
    this.sink.push([F.ResponseFields, fields]);
  }

  /**
   * An item RouterHub does not model, from its upstream `response.output_item.added` event: it
   * takes the next output index, and it and its later events (`passThrough`) reach the client as sent.
   */
  startPassThrough(added: PassThroughEvent): number {
    const index = this.next++;
    this.hasOutput = true;
    this.sink.push([F.PassThrough, index, added]);
    return index;
  }

  /** A later event of a pass-through item (its progress, its `output_item.done`). */
  passThrough(index: number, event: PassThroughEvent): void {
    this.sink.push([F.PassThrough, index, event]);
  }

  isOpen(index: number): boolean {
    return this.open.has(index);
  }

  /**
   * Closes an item and emits its complete form. `final` replaces what was accumulated (an upstream
   * that sends complete items, like OpenAI Responses, knows best).
   */
  finish(index: number, final?: OutputItem): void {
    const open = this.open.get(index);
    if (!open) return;
    this.open.delete(index);
    let item = final ?? this.complete(open, index);
    if (this.stateTag && item.type === 'reasoning' && typeof item.encrypted_content === 'string' && item.encrypted_content !== '' && !isRouterHubState(item.encrypted_content)) {
      item = { ...item, encrypted_content: tagState(this.stateTag, item.encrypted_content) };
    }
    this.sink.push([F.ItemDone, index, item]);
  }

  finishAll(): void {
    for (const index of [...this.open.keys()].sort((a, b) => a - b)) this.finish(index);
  }

  /** The response ended normally (`incompleteReason` set: it was cut short, e.g. max_output_tokens). */
  completed(usage: Usage | null, incompleteReason: string | null = null): void {
    if (this.terminal) return;
    this.finishAll();
    this.terminal = [F.Completed, usage, incompleteReason];
  }

  failed(error: ApiError, httpStatus: number, retryable: boolean, retryAfterSeconds: number | null = null): void {
    if (this.terminal) return;
    this.finishAll();
    this.terminal = [F.Failed, error, httpStatus, retryAfterSeconds];
    this.retryable = retryable;
  }

  private learnTools(tools: readonly Tool[], namespace: string | undefined): void {
    for (const t of tools) {
      if (t.type === 'namespace') this.learnTools((t as NamespaceTool).tools ?? [], String(t.name));
      else if (t.type === 'custom') this.customTools.add(String(t.name));
      else if (namespace && t.type === 'function') this.namespaces.set(String(t.name), namespace);
    }
  }

  private start(item: OutputItem): number {
    const index = this.next++;
    this.open.set(index, { item, emulatedCustom: false, args: '' });
    this.hasOutput = true;
    this.sink.push([F.ItemAdded, index, { ...item } as OutputItem]);
    return index;
  }

  private complete(open: OpenItem, index: number): OutputItem {
    const item = open.item;
    switch (item.type) {
      case 'message':
        return { ...(item as MessageItem), status: 'completed', content: [{ type: 'output_text', text: open.args, annotations: [] }] };
      case 'function_call':
        return { ...(item as FunctionCallItem), status: 'completed', arguments: normalizeArguments(open.args) };
      case 'custom_tool_call': {
        const input = open.emulatedCustom ? customInputFromArguments(open.args) : open.args;
        if (open.emulatedCustom && input !== '') this.sink.push([F.CustomInputDelta, index, input]);
        return { ...(item as CustomToolCallItem), status: 'completed', input };
      }
      case 'reasoning':
        return { ...(item as ReasoningItem) };
    }
  }
}

/** Function-call arguments must be a JSON object string: empty becomes `{}`. */
export function normalizeArguments(args: string): string {
  return args.trim() === '' ? '{}' : args;
}

/** The raw input of an emulated custom tool call: its one string argument, or the text as sent. */
export function customInputFromArguments(args: string): string {
  try {
    const parsed = JSON.parse(args) as unknown;
    if (parsed && typeof parsed === 'object' && typeof (parsed as Record<string, unknown>)[CUSTOM_TOOL_INPUT_PARAM] === 'string') {
      return (parsed as Record<string, string>)[CUSTOM_TOOL_INPUT_PARAM];
    }
  } catch {
    // A model that answered with raw text instead of JSON: the text is the input.
  }
  return args;
}
