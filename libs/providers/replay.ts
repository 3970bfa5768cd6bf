// Test support: replays a recorded provider stream through a family's StreamMapper and collects
// the frames, exactly as the worker would feed it (one SSE event at a time).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { HttpError } from '../protocol/errors';
import type { ResponsesRequest } from '../protocol/types';
import type { Deployment } from '../routing/catalog';
import type { Frame } from '../wire/frames';
import { OutputBuilder } from './output';
import type { ProviderAdapter } from './types';

/** The sources (fixtures are not compiled into dist/). */
const PROVIDERS = join(__dirname, '..', '..', '..', 'libs', 'providers');

/** A recording beside its family: `libs/providers/<family>/fixtures/<file>`. */
export function fixturePath(family: string, file: string): string {
  return join(PROVIDERS, family, 'fixtures', file);
}

/** The `data:` payloads of a `.chunks.txt` recording (one JSON document per line). */
export function chunks(family: string, file: string): string[] {
  return readFileSync(fixturePath(family, file), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l !== '');
}

export interface Replay { frames: Frame[]; out: OutputBuilder }

export function replay(
  adapter: ProviderAdapter,
  events: Array<string | { event?: string; data: string }>,
  req: ResponsesRequest = { model: 'x/y', input: 'hi' },
): Replay {
  const frames: Frame[] = [];
  const out = new OutputBuilder({ push: (f) => frames.push(f) }, 'test', req.tools);
  const mapper = adapter.createStreamMapper(out);
  for (const e of events) {
    if (typeof e === 'string') mapper.onEvent(undefined, e);
    else mapper.onEvent(e.event, e.data);
  }
  mapper.onEnd();
  return { frames, out };
}

/** The request Codex 0.169 sent on its first turn (captured; about 40 KB with its tools). */
export function codexRequest(): ResponsesRequest {
  return (JSON.parse(readFileSync(join(PROVIDERS, 'fixtures', 'codex', 'request-turn1-gpt55.json'), 'utf8')) as { body: ResponsesRequest }).body;
}

/** A small PDF as the Responses API takes it (`input_file.file_data`, a data: URL). */
export const PDF_DATA_URL = 'data:application/pdf;base64,JVBERi0xLjQKJcfs';

/**
 * Every message shape the Responses API accepts, as one history: easy-input messages (no `type`)
 * with string and part-array content in each role, a typed system message, an input_file, an
 * image URL, and a hosted-tool record (dropped by the families that cannot run it).
 */
export function everyInputShape(): ResponsesRequest {
  const input = [
    { role: 'developer', content: 'Be terse.' },
    { role: 'user', content: 'What is in this file?' },
    { role: 'user', content: [{ type: 'input_text', text: 'Page one?' }, { type: 'input_file', filename: 'report.pdf', file_data: PDF_DATA_URL }] },
    { role: 'assistant', content: 'A report.' },
    { type: 'message', role: 'system', content: [{ type: 'input_text', text: 'Cite pages.' }] },
    { type: 'web_search_call', id: 'ws_1', status: 'completed', action: { type: 'search', query: 'report' } },
    { role: 'user', content: [{ type: 'input_text', text: 'And this?' }, { type: 'input_image', image_url: 'https://example.com/a.png' }] },
  ];
  return { model: 'x/y', input: input as ResponsesRequest['input'] };
}

/** The request with `item` in place of its input, for what a family must refuse (a 400 naming input[0]). */
export function withInput(...items: unknown[]): ResponsesRequest {
  return { model: 'x/y', input: items as ResponsesRequest['input'] };
}

/** The error a family's request mapper throws for `req` (a test fails if it takes the request). */
export function refusal(adapter: ProviderAdapter, req: ResponsesRequest, deployment: Deployment): HttpError {
  try {
    adapter.buildRequest(req, deployment, 'key');
  } catch (err) {
    if (err instanceof HttpError) return err;
    throw err;
  }
  throw new Error(`the ${adapter.family} family took a request it should refuse`);
}
