import { parseRawJson, type Payload } from "@switchboard/protocol";

const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;

/**
 * What a backend's `PUBLISH to:<topic>:<event> <data>` becomes for the clients, as tangram does
 * it: data whose first byte is `{` or `[` and that parses as JSON is a JSON payload; anything else
 * (plain text, bytes, or JSON-looking data that does not parse as UTF-8 JSON) is a binary payload, which V2
 * clients get as a binary frame and V1/LongPoll clients as `{"binary": "<base64>"}`.
 * A JSON payload stays the text it was published as: frames splice it in, nobody re-encodes it.
 */
export function classifyPayload(data: Buffer): Payload {
  const first = data[0];
  if (first === OPEN_BRACE || first === OPEN_BRACKET) return parseRawJson(data) ?? data;
  return data;
}
