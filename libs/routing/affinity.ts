// Conversation affinity: the turns of one conversation go to the same deployment, so the provider's
// prompt cache (per machine pool, org or key) keeps hitting. The choice is rendezvous
// (highest-random-weight) hashing of a conversation key against each deployment's id, weighted:
// every ingress computes the same order with no shared state, and removing a deployment moves only
// the conversations it had.
import { createHash } from 'node:crypto';
import type { RequestFields } from '../protocol/types';
import type { InputItems } from '../protocol/validate';
import { deploymentTagOf, TAG_CHARS } from '../providers/reasoning-state';
import { deploymentId, type Deployment } from './catalog';

/** How much of each prefix part is hashed when a request names no conversation: bounded per request. */
const PREFIX_PART_CHARS = 4096;
/** Leading input items hashed at most: through the first user message, which turn one already has. */
const PREFIX_ITEMS = 4;

/**
 * The conversation a request belongs to: `prompt_cache_key` (Codex sends its thread id there), else
 * the `session_id` / `session-id` / `x-session-id` header (the same id), else a digest of the
 * conversation's stable prefix: instructions, tool names and the input items through the first user
 * message, each cut short so a 2 MB body costs no more than a 40 KB one.
 */
export function conversationKey(req: RequestFields, items: InputItems, sessionHeader: string): string {
  if (typeof req.prompt_cache_key === 'string' && req.prompt_cache_key !== '') return `c:${req.prompt_cache_key}`;
  if (sessionHeader !== '') return `c:${sessionHeader}`;
  const h = createHash('sha256');
  if (typeof req.instructions === 'string') h.update(req.instructions.slice(0, PREFIX_PART_CHARS));
  h.update('\0');
  for (const tool of req.tools ?? []) h.update(`${(tool as { name?: string }).name ?? tool.type}\n`);
  h.update('\0');
  for (let i = 0; i < Math.min(PREFIX_ITEMS, items.length); i++) {
    const item = items.at(i);
    h.update(leadingText(items, i, item)).update('\0');
    if ((item as { role?: string } | null)?.role === 'user') break;
  }
  return `p:${h.digest('base64url')}`;
}

/**
 * The first PREFIX_PART_CHARS characters of an item's text, without serializing all of it (Codex's
 * first developer message is ~20 KB; JSON.stringify of it costs more than the rest of routing).
 */
function leadingText(items: InputItems, i: number, item: unknown): string {
  const { role, content } = (item ?? {}) as { role?: string; content?: unknown };
  if (typeof content === 'string') return `${role}:${content.slice(0, PREFIX_PART_CHARS)}`;
  if (!Array.isArray(content)) return items.json(i, PREFIX_PART_CHARS);
  let out = `${role}:`;
  for (const part of content as Array<{ type?: string; text?: unknown; image_url?: unknown } | null>) {
    if (out.length >= PREFIX_PART_CHARS) break;
    if (typeof part !== 'object' || part === null) continue; // not validated yet: the worker refuses it
    const text = typeof part.text === 'string' ? part.text : typeof part.image_url === 'string' ? part.image_url : '';
    out += `${part.type}:${text.slice(0, PREFIX_PART_CHARS - out.length)}`;
  }
  return out;
}

/** The deployment id whose encrypted reasoning the request carries (the latest such item), or null. */
export function reasoningDeployment(items: InputItems, deployments: readonly Deployment[]): Deployment | null {
  for (let i = items.length - 1; i >= 0; i--) {
    if (items.member(i, 'type') !== 'reasoning') continue;
    const tag = deploymentTagOf(items.member(i, 'encrypted_content', TAG_CHARS));
    if (tag === null) continue;
    return deployments.find((d) => deploymentTag(d) === tag) ?? null;
  }
  return null;
}

const tags = new Map<string, string>();

/** A deployment's name in the reasoning state it produced: a digest, so clients never see hosts or ids. */
export function deploymentTag(d: Deployment): string {
  const id = deploymentId(d);
  let tag = tags.get(id);
  if (tag === undefined) {
    // Deployments are few (the catalog's); a digest per response and attempt was not.
    if (tags.size > 10_000) tags.clear();
    tag = createHash('sha256').update(id).digest('base64url').slice(0, 12);
    tags.set(id, tag);
  }
  return tag;
}

/** The deployments in rendezvous order for `key`: the first is the conversation's home. */
export function rendezvousOrder(deployments: readonly Deployment[], key: string): Deployment[] {
  const scored = deployments.map((d) => ({ d, score: rendezvousScore(key, deploymentId(d), d.weight ?? 1) }));
  return scored.sort((a, b) => b.score - a.score).map((s) => s.d);
}

/** Weighted rendezvous score (-w / ln u, u uniform in (0,1) from the hash): P(highest) is proportional to w. */
export function rendezvousScore(key: string, id: string, weight: number): number {
  const digest = createHash('sha256').update(key).update('\0').update(id).digest();
  const u = (digest.readUIntBE(0, 6) + 0.5) / 2 ** 48;
  return -weight / Math.log(u);
}
