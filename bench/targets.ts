// What the load generator points at, per stream profile: RouterHub (model → catalog → upstream
// path), the upstream directly (same path, same wire format), or the peer gateway (custom host =
// the same upstream path). Every target gets the same ~40 KB Codex body.
import { codexRequest } from '../libs/providers/replay';
import type { LoadSpec } from './loadgen';
import { profileName, profilePath, type StreamProfile } from './profile';

export type TargetName = 'routerhub' | 'direct' | 'peer';

export interface Target {
  name: TargetName;
  /** The origin, path, headers and body of a request that streams `profile`. */
  request(profile: StreamProfile): Pick<LoadSpec, 'origin' | 'path' | 'headers' | 'body'>;
  /** Processes whose CPU and RSS are reported for this target. */
  pids(): Record<string, number>;
}

const CODEX = codexRequest();

export function codexBody(model: string): string {
  return JSON.stringify({ ...CODEX, model, stream: true });
}

export function benchModel(p: StreamProfile): string {
  return `bench/${profileName(p)}`;
}

export function routerhubTarget(baseUrl: string, key: string, pids: () => Record<string, number>): Target {
  return {
    name: 'routerhub',
    request: (p) => ({ origin: baseUrl, path: '/v1/responses', headers: { authorization: `Bearer ${key}` }, body: codexBody(benchModel(p)) }),
    pids,
  };
}

export function directTarget(upstreamUrl: string, upstreamPid: number): Target {
  return {
    name: 'direct',
    request: (p) => ({ origin: upstreamUrl, path: `${profilePath(p)}/responses`, headers: { authorization: 'Bearer sk-bench-upstream' }, body: codexBody('bench-model') }),
    pids: () => ({ upstream: upstreamPid }),
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
    }),
    pids: () => ({ peer: peerPid }),
  };
}
