/**
 * The Phoenix message model shared by every wire format.
 *
 * `payload` is either a JSON value or raw bytes (`Uint8Array`): V2 carries bytes in binary
 * frames, the text-only formats (V1, LongPoll) carry them as `{"binary": "<base64>"}`.
 */
export type Ref = string | null;

export type Payload = unknown;

/** A frame exactly as it travels: text for JSON formats, bytes for V2 binary frames. */
export type Frame = string | Buffer;

/** Client → server push, or a server push to one socket (`ref` is null then). */
export interface Message {
  joinRef: Ref;
  ref: Ref;
  topic: string;
  event: string;
  payload: Payload;
}

/** Server answer to one client push: encoded as event `phx_reply`. */
export interface Reply {
  joinRef: Ref;
  ref: Ref;
  topic: string;
  status: "ok" | "error";
  response: Payload;
}

/** Fan-out message: no join_ref, no ref; the same encoded bytes go to every subscriber. */
export interface Broadcast {
  topic: string;
  event: string;
  payload: Payload;
}

export function isBinaryPayload(payload: Payload): payload is Uint8Array {
  return payload instanceof Uint8Array;
}
