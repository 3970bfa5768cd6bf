// openai-responses request mapper: the request passes through with the fixes Codex needs. The body
// is the client's own bytes with those fixes spliced in (forwardBody) when they allow it: a late
// Codex turn is megabytes, and serializing it again costs more than every other step of a request.
import { isUtf8 } from 'node:buffer';
import { Edits, keyIs, keyOf, objectRanges, rootStart, type Element } from '../../protocol/json-ranges';
import type { InputItem, ReasoningItem, ResponsesRequest } from '../../protocol/types';
import type { Deployment } from '../../routing/catalog';
import { isRouterHubState, unwrappedFrom } from '../reasoning-state';
import { openaiSdkVersion, streamingHeaders, upstreamUrl } from '../upstream-request';
import type { RequestSource, SourcedUpstreamRequest, UpstreamRequest } from '../types';

/** Top-level members the upstream body does not take from the client (input is edited in place). */
const REPLACED = new Set(['client_metadata', 'model', 'stream']);

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
 * What toResponsesUpstream serializes, as the client's bytes with a few edits: `id`s cut out of
 * items, model and stream replaced, client_metadata and earlier duplicates of top-level keys cut,
 * the reasoning forwardedItems leaves out cut, and the items the worker rewrote (not in
 * `source.input`) serialized in place of theirs. Duplicate keys inside an item pass as sent (a JSON
 * parser reads the last, as RouterHub's did). Null when the bytes are not valid UTF-8 (serializing
 * replaces what is invalid) or do not hold the input that was parsed, item for item.
 */
export function forwardBody(req: ResponsesRequest, deployment: Deployment, source: RequestSource): Buffer | null {
  const { bytes } = source;
  if (!isUtf8(bytes)) return null;
  const root = rootStart(bytes);
  const { members } = objectRanges(bytes, root, (m) => keyIs(bytes, m, 'input'));
  const keys = members.map((m) => keyOf(bytes, m));
  // JSON.parse keeps the last of duplicate keys: so does the copy, and sends no other.
  const last = new Map<string, number>();
  keys.forEach((key, i) => last.set(key, i));
  const input = last.get('input') ?? -1;
  const items = Array.isArray(req.input) ? req.input : null;
  const spans = input >= 0 ? members[input].elements : undefined;
  if (items && (!spans || spans.length !== source.input?.length)) return null;
  const cut = (i: number) => last.get(keys[i]) !== i || REPLACED.has(keys[i]);
  const more = members.some((_, i) => !cut(i));
  const edits = new Edits(bytes).replace(root + 1, root + 1, `"model":${JSON.stringify(deployment.model)},"stream":true${more ? ',' : ''}`);
  edits.editList(members, cut, (i) => {
    if (i === input && items) editItems(edits, bytes, spans!, source.input!, items, !keepsIds(req));
  });
  return edits.bytes();
}

/** The edits of the input array: `spans` where the items `sent` sit, `items` what goes upstream. */
function editItems(edits: Edits, bytes: Buffer, spans: Element[], sent: readonly unknown[], items: InputItem[], strip: boolean): void {
  const index = new Map<unknown, number>(sent.map((item, i) => [item, i]));
  // Which items the client sent go as they are, or with the deployment tag cut from the front of
  // their encrypted_content (where the bytes have it as written, the member JSON.parse kept); the
  // items that replace the others, by the first index of the run they replace (an item rewritten
  // by the worker keeps its place among them).
  const keep = new Uint8Array(sent.length);
  const tagCut = new Map<number, { at: number; bytes: number }>();
  const replacing = new Map<number, string[]>();
  let next = 0;
  for (const item of forwardedItems(items)) {
    let i = index.get(item);
    const from = i === undefined ? unwrappedFrom(item) : undefined;
    const cut = from && (i = index.get(from)) !== undefined ? tagInBytes(bytes, spans[i], from as ReasoningItem, item as ReasoningItem) : null;
    if (i !== undefined && (!from || cut)) {
      keep[i] = 1;
      if (cut) tagCut.set(i, cut);
      next = i + 1;
    } else {
      const texts = replacing.get(next) ?? [];
      texts.push(JSON.stringify(strip ? stripId(item) : item));
      replacing.set(next, texts);
    }
  }
  edits.editList(spans, (i) => !keep[i], (i) => {
    const members = spans[i].members;
    const cut = tagCut.get(i);
    const id = strip && losesId(sent[i] as InputItem);
    if (!members || (!id && !cut)) return;
    edits.editList(members, (k) => id && keyIs(bytes, members[k], 'id'), (k) => {
      if (cut && members[k].valueStart + 1 === cut.at) edits.replace(cut.at, cut.at + cut.bytes);
    });
  }, (first) => replacing.get(first)?.join(','));
}

/**
 * Where the tag stateForDeployment removed sits in `span` (the item it unwrapped, `from`): the
 * start of the last encrypted_content value, when the bytes hold it as plain ASCII; else null.
 */
function tagInBytes(bytes: Buffer, span: Element, from: ReasoningItem, own: ReasoningItem): { at: number; bytes: number } | null {
  const sentState = from.encrypted_content;
  const ownState = own.encrypted_content;
  const members = span.members;
  if (typeof sentState !== 'string' || typeof ownState !== 'string' || !members || !sentState.endsWith(ownState)) return null;
  const tag = sentState.slice(0, sentState.length - ownState.length);
  let last = members.length - 1;
  while (last >= 0 && !keyIs(bytes, members[last], 'encrypted_content')) last--;
  if (last < 0) return null;
  const at = members[last].valueStart + 1;
  for (let k = 0; k < tag.length; k++) if (bytes[at + k] !== tag.charCodeAt(k)) return null;
  return { at, bytes: tag.length };
}
