// gemini state: thought signatures (Gemini 3 rejects a replayed function call without its
// signature) travel through Codex in a reasoning item's encrypted_content: base64 of
// `{"gemini":{"signatures":[…]}}`, each signature naming the call_id or message id of the part it was
// attached to. On the way back every signature is put on that part again (see toGeminiRequest).
import { decodeState, encodeState } from '../reasoning-state';
/** One thoughtSignature and the part it belongs to: a function call (by call_id) or a message's text. */
export interface SignatureRef { sig: string; call_id?: string; msg_id?: string }

export function encodeGeminiState(signatures: SignatureRef[]): string {
  return encodeState('gemini', { signatures });
}

/** The signatures in an encrypted_content this adapter wrote, or null (another provider's state). */
export function decodeGeminiState(value: unknown): SignatureRef[] | null {
  const sigs = decodeState<{ signatures?: unknown }>('gemini', value)?.signatures;
  if (!Array.isArray(sigs)) return null;
  return sigs.filter((s): s is SignatureRef => !!s && typeof (s as SignatureRef).sig === 'string');
}

