// Every provider family's mock wire format, for the mock upstream (one line per family).
import { anthropicWire } from './anthropic';
import { geminiWire } from './gemini';
import { openaiChatWire } from './openai-chat';
import { openaiResponsesWire } from './openai-responses';
import type { MockWire } from './wire';

export const mockWires: MockWire[] = [openaiResponsesWire, anthropicWire, openaiChatWire, geminiWire];
