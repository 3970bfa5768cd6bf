// A bench stream profile: how many tokens one upstream response streams, how they are framed and
// how fast. The profile travels in the upstream URL path (`/b/<tokens>/<perEvent>/<perWrite>/<rate>/v1`,
// a base URL to which each provider family adds its own API path), so RouterHub's catalog, the direct
// client and the peer gateway's custom host all name the same behaviour without any side channel.

export interface StreamProfile {
  /** Output tokens of one response. */
  tokens: number;
  /** Tokens carried by one `response.output_text.delta` event (real providers: 1-3). */
  tokensPerEvent: number;
  /** Delta events per socket write (one network chunk). */
  eventsPerWrite: number;
  /** Tokens per second per stream; 0 = as fast as the socket takes them. */
  rate: number;
}

/** Every token is exactly TOKEN_CHARS characters, so a client counts tokens from coalesced deltas by length. */
export const TOKEN_CHARS = 6;
const VOCAB = ['alpha ', 'bravo ', 'delta ', 'gamma ', 'kappa ', 'sigma ', 'theta ', 'omega '];

export function tokenText(tokens: number): string {
  let s = '';
  for (let i = 0; i < tokens; i++) s += VOCAB[i % VOCAB.length];
  return s;
}

export function profilePath(p: StreamProfile): string {
  return `/b/${p.tokens}/${p.tokensPerEvent}/${p.eventsPerWrite}/${p.rate}/v1`;
}

/** The profile of an upstream request path, and the provider API path after it (`/responses`, `/messages`…). */
export function parseProfilePath(path: string): { profile: StreamProfile; apiPath: string } | null {
  const m = /^\/b\/(\d+)\/(\d+)\/(\d+)\/(\d+(?:\.\d+)?)\/v1(\/.+)$/.exec(path);
  if (!m) return null;
  const p = { tokens: Number(m[1]), tokensPerEvent: Number(m[2]), eventsPerWrite: Number(m[3]), rate: Number(m[4]) };
  return p.tokens > 0 && p.tokensPerEvent > 0 && p.eventsPerWrite > 0 ? { profile: p, apiPath: m[5] } : null;
}

export function profileName(p: StreamProfile): string {
  return `t${p.tokens}-e${p.tokensPerEvent}-w${p.eventsPerWrite}-r${p.rate}`;
}
