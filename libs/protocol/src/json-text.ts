import { isBinaryPayload, type Payload, type Ref } from "./message.ts";
import { isRawJson } from "./raw-json.ts";

/**
 * JSON pieces the text encoders concatenate. Frames are built by string concatenation around a
 * single `JSON.stringify` of the payload: broadcasts are encoded once per format on a hot path.
 */
export function refJson(ref: Ref): string {
  return ref === null ? "null" : JSON.stringify(ref);
}

/**
 * JSON text of frozen payloads, made on first use. A frozen payload is taken as immutable all
 * the way down: one object pushed to many sockets is encoded once (presence gives every member
 * joining a large topic within one diff window the same frozen `presence_state`).
 */
const frozenJson = new WeakMap<object, string>();

/**
 * A payload as JSON text. Bytes travel as `{"binary":"<base64>"}` where a frame cannot carry
 * them raw (V1, LongPoll, strings too long for a binary frame). An undefined payload is `null`,
 * as `JSON.stringify` writes it inside an array. A RawJson payload is its text, unchanged.
 */
export function payloadJson(payload: Payload): string {
  if (isRawJson(payload)) return payload.text;
  if (isBinaryPayload(payload)) return `{"binary":"${Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString("base64")}"}`;
  if (typeof payload === "object" && payload !== null && Object.isFrozen(payload)) {
    let text = frozenJson.get(payload);
    if (text === undefined) frozenJson.set(payload, (text = JSON.stringify(payload)));
    return text;
  }
  return JSON.stringify(payload) ?? "null";
}

/** Reply payload, keys in the order Phoenix sends them (its JSON library sorts map keys). */
export function replyPayloadJson(status: string, response: Payload): string {
  return `{"response":${payloadJson(response)},"status":${JSON.stringify(status)}}`;
}

export type ParseResult = { ok: true; value: unknown } | { ok: false; detail: string };

export function parseJson(text: string): ParseResult {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (error) {
    return { ok: false, detail: error instanceof Error ? error.message : "unparseable" };
  }
}
