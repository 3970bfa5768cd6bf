// openai-responses request mapper: the request passes through with the fixes Codex needs. The body
// is the client's own bytes with those fixes spliced in (forwardBody) when they allow it: a late
// Codex turn is megabytes, and serializing it again costs more than every other step of a request.
import { isUtf8 } from 'node:buffer';
import { arrayElements, keyIs, keyOf, objectMembers, rootStart, Splice } from '../../protocol/json-ranges';
import type { InputItem, ReasoningItem, ResponsesRequest } from '../../protocol/types';
import type { Deployment } from '../../routing/catalog';
import { isRouterHubState } from '../reasoning-state';
import { openaiSdkVersion, streamingHeaders, upstreamUrl } from '../upstream-request';
import type { RequestSource, SourcedUpstreamRequest, UpstreamRequest } from '../types';

/** Top-level members the upstream body does not take from the client as they are. */
const REPLACED = new Set(['client_metadata', 'model', 'stream', 'input']);

export function toResponsesUpstream(req: ResponsesRequest, deployment: Deployment): Record<string, unknown> {
  // Drop what an upstream may reject or must not see: Codex's client_metadata, and the client's
  // `stream` choice (RouterHub always streams upstream and assembles non-streaming answers itself).
  const { client_metadata: _cm, ...rest } = req;
  const body: Record<string, unknown> = { ...rest, model: deployment.model, stream: true };
  if (Array.isArray(req.input)) {
    const input = forwardedItems(req.input);
    body.input = keepsIds(req) ? input : input.map(stripId);
  }
  return body;
}

/** Reasoning another family produced carries RouterHub state an OpenAI upstream cannot read. */
function forwardedItems(input: InputItem[]): InputItem[] {
  return input.filter((i) => !(i.type === 'reasoning' && isRouterHubState((i as ReasoningItem).encrypted_content)));
}

/**
 * With store:false the upstream keeps no items, so ids Codex replays ("msg_<uuid>", "rs_…") make it
 * answer "Item with id … not found" (openai/codex#35739): they are stripped, except an
 * item_reference's, which is what it refers to (an item the upstream stored earlier).
 */
function keepsIds(req: ResponsesRequest): boolean {
  return req.store === true;
}

function losesId(item: InputItem): boolean {
  return item.id !== undefined && item.type !== 'item_reference';
}

function stripId(item: InputItem): InputItem {
  if (!losesId(item)) return item;
  const { id: _id, ...rest } = item;
  return rest as InputItem;
}

export function buildRequest(req: ResponsesRequest, deployment: Deployment, apiKey: string): UpstreamRequest {
  return { ...target(deployment, apiKey), body: JSON.stringify(toResponsesUpstream(req, deployment)) };
}

export function buildRequestFromSource(req: ResponsesRequest, deployment: Deployment, apiKey: string, source: RequestSource): SourcedUpstreamRequest | null {
  const body = forwardBody(req, deployment, source);
  return body && { ...target(deployment, apiKey), body };
}

function target(deployment: Deployment, apiKey: string): Omit<UpstreamRequest, 'body'> {
  const headers = streamingHeaders(deployment, apiKey ? { authorization: `Bearer ${apiKey}` } : null);
  return { url: upstreamUrl(deployment, '/responses', openaiSdkVersion(deployment)), headers };
}

/**
 * What toResponsesUpstream serializes, as bytes assembled from the client's: its members and input
 * items copied as sent, `id`s cut out of items, model and stream replaced, client_metadata left out.
 * Items the worker changed (not in `source.input`) are serialized. Duplicate keys inside an item
 * pass as sent (a JSON parser reads the last, as RouterHub's did). Null when the bytes are not
 * valid UTF-8 (serializing replaces what is invalid) or do not hold the input that was parsed.
 */
export function forwardBody(req: ResponsesRequest, deployment: Deployment, source: RequestSource): Buffer | null {
  const { bytes } = source;
  if (!isUtf8(bytes)) return null;
  const members = objectMembers(bytes, rootStart(bytes));
  // JSON.parse keeps the last of duplicate top-level keys: so does the copy, and sends no other.
  const keys = members.map((m) => keyOf(bytes, m));
  const last = new Map<string, number>();
  keys.forEach((key, i) => last.set(key, i));
  const out = new Splice(bytes).text('{');
  let first = true;
  members.forEach((m, i) => {
    if (last.get(keys[i]) !== i || REPLACED.has(keys[i])) return;
    out.entry(m, i, first);
    first = false;
  });
  out.entry(`"model":${JSON.stringify(deployment.model)},"stream":true`, -1, first);
  const input = last.has('input') ? members[last.get('input')!] : null;
  const items = req.input;
  if (input && !Array.isArray(items)) out.entry(input, -1, false);
  else if (input && Array.isArray(items)) {
    const spans = arrayElements(bytes, input.valueStart);
    if (!source.input || spans.length !== source.input.length) return null;
    // Where each item the client sent sits; an item is copied with its neighbours when they are its
    // neighbours in the source too (by source index).
    const sent = new Map<unknown, number>(source.input.map((item, i) => [item, i]));
    out.text(',"input":[');
    const strip = !keepsIds(req);
    forwardedItems(items).forEach((item, i) => {
      const at = sent.get(item) ?? -1;
      if (at < 0) out.entry(JSON.stringify(strip ? stripId(item) : item), at, i === 0);
      else if (!strip || !losesId(item)) out.entry(spans[at], at, i === 0);
      else {
        out.entry('{', at, i === 0);
        const span = spans[at];
        let firstMember = true;
        objectMembers(bytes, span.start).forEach((m, k) => {
          if (keyIs(bytes, m, 'id')) return;
          out.entry(m, k, firstMember);
          firstMember = false;
        });
        out.text('}');
      }
    });
    out.text(']');
  }
  return out.text('}').bytes();
}
