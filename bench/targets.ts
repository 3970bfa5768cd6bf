// What the load generator points at, per stream profile and provider family: RouterHub (model →
// catalog → upstream path), the upstream directly (same path, the family's own wire format), or the
// peer gateway (custom host = the same upstream path). Every target gets the same ~40 KB Codex
// request: as is through a gateway, and straight at an upstream as the family's request that
// RouterHub would send it.
import { adapters } from '../libs/providers/index';
import { codexRequest } from '../libs/providers/replay';
import type { LoadSpec } from './loadgen';
import { profileName, profilePath, type StreamProfile } from './profile';

const RESPONSES = 'openai-responses';

export type TargetName = 'routerhub' | 'direct' | 'peer' | 'relay' | 'relay-nats';

export interface Target {
  name: TargetName;
  /** The origin, path, headers, body and wire format of a request that streams `profile`. */
  request(profile: StreamProfile): Pick<LoadSpec, 'origin' | 'path' | 'headers' | 'body' | 'family'>;
  /** Processes whose CPU and RSS are reported for this target. */
  pids(): Record<string, number>;
}

const CODEX = codexRequest();

export function codexBody(model: string): string {
  return JSON.stringify({ ...CODEX, model, stream: true });
}

/** The catalog model that streams `p` from an upstream of `family`. */
export function benchModel(p: StreamProfile, family = RESPONSES): string {
  return `bench/${family}-${profileName(p)}`;
}

/** RouterHub's clients always speak Responses, whatever the family of the upstream behind the model. */
export function routerhubTarget(baseUrl: string, key: string, pids: () => Record<string, number>, family = RESPONSES): Target {
  return {
    name: 'routerhub',
    request: (p) => ({ origin: baseUrl, path: '/v1/responses', headers: { authorization: `Bearer ${key}` }, body: codexBody(benchModel(p, family)), family: RESPONSES }),
    pids,
  };
}

/** Straight at the upstream, in `family`'s wire format: the request RouterHub's adapter would send. */
export function directTarget(upstreamUrl: string, upstreamPid: number, family = RESPONSES): Target {
  return {
    name: 'direct',
    request: (p) => {
      const deployment = { provider: family, model: 'bench-model', base_url: `${upstreamUrl}${profilePath(p)}` };
      const { url, headers, body } = adapters[family].buildRequest({ ...CODEX, model: 'bench-model', stream: true }, deployment, 'sk-bench-upstream');
      const u = new URL(url);
      return { origin: u.origin, path: `${u.pathname}${u.search}`, headers, body, family };
    },
    pids: () => ({ upstream: upstreamPid }),
  };
}

/** A bare relay (relay-main.ts): RouterHub's request bytes, forwarded to the upstream's Responses API unchanged. */
export function relayTarget(name: 'relay' | 'relay-nats', relayUrl: string, pids: () => Record<string, number>): Target {
  return {
    name,
    request: (p) => ({ origin: relayUrl, path: `${profilePath(p)}/responses`, headers: { authorization: 'Bearer sk-bench-upstream' }, body: codexBody('bench-model'), family: RESPONSES }),
    pids,
  };
}

export function peerTarget(peerUrl: string, upstreamUrl: string, peerPid: number): Target {
  return {
    name: 'peer',
    request: (p) => ({
      origin: peerUrl,
      path: '/v1/responses',
      headers: { authorization: 'Bearer sk-bench-upstream', 'x-portkey-provider': 'openai', 'x-portkey-custom-host': `${upstreamUrl}${profilePath(p)}` },
      body: codexBody('bench-model'),
      family: RESPONSES,
    }),
    pids: () => ({ peer: peerPid }),
  };
}
