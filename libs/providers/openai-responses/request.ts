// openai-responses request mapper: the request passes through with the fixes Codex needs.
import type { InputItem, ReasoningItem, ResponsesRequest } from '../../protocol/types';
import type { Deployment } from '../../routing/catalog';
import { isRouterHubState } from '../reasoning-state';
import { openaiSdkVersion, streamingHeaders, upstreamUrl } from '../upstream-request';
import type { UpstreamRequest } from '../types';

export function toResponsesUpstream(req: ResponsesRequest, deployment: Deployment): Record<string, unknown> {
  // Drop what an upstream may reject or must not see: Codex's client_metadata, and the client's
  // `stream` choice (RouterHub always streams upstream and assembles non-streaming answers itself).
  const { client_metadata: _cm, ...rest } = req;
  const body: Record<string, unknown> = { ...rest, model: deployment.model, stream: true };
  // With store:false the upstream keeps no items, so ids Codex replays ("msg_<uuid>", "rs_…") make it
  // answer "Item with id … not found" (openai/codex#35739): strip them.
  if (Array.isArray(req.input)) {
    // Reasoning another family produced carries RouterHub state an OpenAI upstream cannot read.
    const input = req.input.filter((i) => !(i.type === 'reasoning' && isRouterHubState((i as ReasoningItem).encrypted_content)));
    body.input = req.store === true ? input : input.map(stripId);
  }
  return body;
}

function stripId(item: InputItem): InputItem {
  // An item_reference's id is what it refers to (an item the upstream stored earlier).
  if (item.id === undefined || item.type === 'item_reference') return item;
  const { id: _id, ...rest } = item;
  return rest as InputItem;
}

export function buildRequest(req: ResponsesRequest, deployment: Deployment, apiKey: string): UpstreamRequest {
  const headers = streamingHeaders(deployment, apiKey ? { authorization: `Bearer ${apiKey}` } : null);
  return { url: upstreamUrl(deployment, '/responses', openaiSdkVersion(deployment)), headers, body: JSON.stringify(toResponsesUpstream(req, deployment)) };
}

