// openai-responses errors: `{"error":{message,type,code}}` bodies.
import { mapJsonError } from '../errors';

export const NAME = 'OpenAI Responses upstream';

export const mapError = mapJsonError(NAME);
