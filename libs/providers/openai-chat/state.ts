// openai-chat state: which field a server streamed its reasoning in, so it goes back in that field.
/**
 * Reasoning goes back only to a server that produced it, in the field it used: DeepSeek thinking
 * mode answers 400 unless the `reasoning_content` of every assistant turn that made tool calls
 * comes back (api-docs.deepseek.com, guides/thinking_mode), while a server that never sent the
 * field may reject it. The reasoning item's encrypted_content records which field that was.
 */
export interface ChatReasoningState { field: 'reasoning_content' | 'reasoning' }
