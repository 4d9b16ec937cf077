import type { Broadcast, Frame, Message, Reply } from "./message.ts";

/**
 * One Phoenix wire format (Phoenix `Phoenix.Socket.Serializer`): decodes what a client sends and
 * encodes what the server sends. Decoding is total: a peer's bytes can never make it throw.
 */
export interface Serializer {
  readonly vsn: "1.0.0" | "2.0.0";
  /** Equal formats encode identical frames: the key for encode-once caches. */
  readonly format: WireFormat;
  /** Client → server frame. */
  decode(frame: Frame): DecodeResult;
  /** Server push to one socket: `[join_ref, ref, topic, event, payload]` (ref is usually null). */
  encodePush(message: Message): Frame;
  /** Answer to one client push, event `phx_reply`. */
  encodeReply(reply: Reply): Frame;
  /** `[null, null, topic, event, payload]`: encoded once, shared by every subscriber. */
  encodeBroadcast(broadcast: Broadcast): Frame;
}

/** `v1`: V1 JSON objects; `v2`: V2 JSON arrays plus binary frames; `v2-text`: V2 JSON only (LongPoll). */
export type WireFormat = "v1" | "v2" | "v2-text";

export type DecodeErrorCode =
  /** Text that is not JSON. */
  | "invalid_json"
  /** JSON of the wrong shape: not an object (V1), not an array of five (V2). */
  | "invalid_shape"
  /** A binary frame that is truncated, inconsistent or of a kind the sender may not send. */
  | "invalid_binary"
  /** A binary frame where the format has none (V1). */
  | "binary_not_supported"
  /** The shape is right but a field is not: a ref that is not a string or null, an empty topic. */
  | "invalid_field";

export interface DecodeError {
  code: DecodeErrorCode;
  detail: string;
}

export type DecodeResult = { ok: true; message: Message } | { ok: false; error: DecodeError };

export function decodeFailure(code: DecodeErrorCode, detail: string): { ok: false; error: DecodeError } {
  return { ok: false, error: { code, detail } };
}
