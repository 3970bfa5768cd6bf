// Test support: replays a recorded provider stream through a family's StreamMapper and collects
// the frames, exactly as the worker would feed it (one SSE event at a time).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ResponsesRequest } from '../protocol/types';
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
