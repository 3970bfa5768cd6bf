// The contract of one provider family's mock wire format.
import type { MockTurn } from './script';

/** What the demo behaviour needs to know of a request, whatever its wire format. */
export interface MockRequestView {
  /** Text of the last user turn. */
  lastUserText: string;
  /** Outputs of tool calls in the last turn, when the last turn is tool results. */
  toolResults: string[];
  /** Names of the tools the request offers. */
  tools: string[];
}

export interface MockWire {
  family: string;
  /** Whether this family serves `POST <path>` (path without query string). */
  matches(path: string): boolean;
  view(body: Record<string, unknown>): MockRequestView;
  /** The whole stream of a turn, one string per wire event, framed exactly as the provider frames it. */
  events(turn: MockTurn, ctx: { model: string; id: string }): string[];
  /** The provider's HTTP error response for `turn.httpError`. */
  errorResponse(err: NonNullable<MockTurn['httpError']>): { status: number; headers: Record<string, string>; body: string };
}

/** An SSE event named after its JSON `type` (Anthropic and OpenAI Responses frame events this way). */
export function typedEvent(ev: Record<string, unknown>): string {
  return `event: ${ev.type as string}\ndata: ${JSON.stringify(ev)}\n\n`;
}

/** A recorded `data:` payload as an SSE event, named after its JSON `type` when it has one. */
export function recordedEvent(data: string): string {
  const type = (JSON.parse(data) as { type?: unknown }).type;
  return `${typeof type === 'string' ? `event: ${type}\n` : ''}data: ${data}\n\n`;
}

/** Text of a message's content: a string, or the `text` of its parts. */
export function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.map((c: Record<string, unknown>) => (typeof c.text === 'string' ? c.text : '')).join('');
}
