// The provider families RouterHub can route to (one line per family).
import { anthropic } from './anthropic/index';
import { gemini } from './gemini/index';
import { openaiChat } from './openai-chat/index';
import { openaiResponses } from './openai-responses/index';
import type { ProviderAdapter } from './types';

export const adapters: Record<string, ProviderAdapter> = {
  [openaiResponses.family]: openaiResponses,
  [anthropic.family]: anthropic,
  [openaiChat.family]: openaiChat,
  [gemini.family]: gemini,
};

export const FAMILIES: readonly string[] = Object.keys(adapters);
