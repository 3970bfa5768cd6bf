// anthropic reasoning state carried through Codex in `encrypted_content`.
import { decodeState, encodeState } from '../reasoning-state';
import type { RedactedThinkingBlock, ThinkingBlock } from './request';

/**
 * What a reasoning item must give back next turn: Anthropic rejects a thinking block whose text or
 * signature changed. Base64 JSON under an `anthropic` key, so other providers' opaque state (which
 * never decodes to this) is recognised as foreign and dropped.
 */
export type AnthropicReasoning = { thinking: string; signature: string } | { redacted: string };

export function encodeReasoning(state: AnthropicReasoning): string {
  return encodeState('anthropic', state);
}

export function decodeReasoning(encrypted: string | null | undefined): ThinkingBlock | RedactedThinkingBlock | null {
  // Not ours (an OpenAI encrypted reasoning blob, another family's state): null.
  const state = decodeState<Record<string, unknown>>('anthropic', encrypted);
  if (typeof state?.thinking === 'string' && typeof state.signature === 'string' && state.signature !== '') {
    return { type: 'thinking', thinking: state.thinking, signature: state.signature };
  }
  if (typeof state?.redacted === 'string') return { type: 'redacted_thinking', data: state.redacted };
  return null;
}

