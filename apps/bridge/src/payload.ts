import type { Payload } from "@switchboard/protocol";

const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
// JSON text is UTF-8 (RFC 8259); invalid bytes must not be silently replaced by U+FFFD.
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * What a backend's `PUBLISH to:<topic>:<event> <data>` becomes for the clients, as tangram does
 * it: data whose first byte is `{` or `[` and that parses as JSON is a JSON payload; anything else
 * (plain text, bytes, or JSON-looking data that does not parse as UTF-8 JSON) is a binary payload, which V2
 * clients get as a binary frame and V1/LongPoll clients as `{"binary": "<base64>"}`.
 */
export function classifyPayload(data: Buffer): Payload {
  const first = data[0];
  if (first === OPEN_BRACE || first === OPEN_BRACKET) {
    try {
      return JSON.parse(strictUtf8.decode(data)) as Payload;
    } catch {
      // Not JSON after all: it travels as the bytes it is.
    }
  }
  return data;
}
