import { isPlainObject, hasOwn } from "./fields.ts";
import { payloadJson, refJson } from "./json-text.ts";
import { isBinaryPayload, type Broadcast, type Frame, type Message, type Reply } from "./message.ts";
import { decodeFailure, type DecodeError, type Serializer } from "./serializer.ts";
import { decodeV1Text } from "./v1-json.ts";
import { decodeV2Text, encodeV2Push } from "./v2-json.ts";
import {
  BinaryKind,
  SERVER_FRAME_FIELDS,
  decodeBinaryFrame,
  encodeBinaryClientPush,
  refFromField,
} from "./v2-binary.ts";

/**
 * The client side of the wire, for tests, load generators and the conformance suite: encode what
 * phoenix.js sends, decode what a server sends into typed values. Decoding never throws.
 */

/** How a server frame travelled. */
export type FrameEncoding = "v1-json" | "v2-json" | "v2-binary";

export type ServerFrame =
  | { kind: "push"; encoding: FrameEncoding; message: Message }
  | { kind: "reply"; encoding: FrameEncoding; reply: Reply }
  | { kind: "broadcast"; encoding: FrameEncoding; broadcast: Broadcast };

export type ServerFrameResult = { ok: true; frame: ServerFrame } | { ok: false; error: DecodeError };

/**
 * A client frame as phoenix.js writes it: V1 objects (`join_ref` only when there is one), V2
 * arrays, and V2 binary pushes (kind 0) for byte payloads that fit the one-byte field lengths.
 */
export function encodeClientFrame(target: Serializer | Serializer["vsn"], message: Message): Frame {
  const vsn = typeof target === "string" ? target : target.vsn;
  if (vsn === "1.0.0") return encodeV1ClientText(message);
  return (isBinaryPayload(message.payload) && encodeBinaryClientPush(message, message.payload)) || encodeV2Push(message);
}

function encodeV1ClientText(message: Message): string {
  const joinRef = message.joinRef === null ? "" : `,"join_ref":${refJson(message.joinRef)}`;
  return `{"topic":${JSON.stringify(message.topic)},"event":${JSON.stringify(message.event)},"payload":${payloadJson(message.payload)},"ref":${refJson(message.ref)}${joinRef}}`;
}

/**
 * Any frame a Phoenix server sends: V1 objects and V2 arrays are told apart by their first
 * character, bytes are V2 binary. A `phx_reply` becomes a reply, a frame with neither join_ref
 * nor ref a broadcast (in V1 a push without ref looks the same on the wire), anything else a push.
 */
export function decodeServerFrame(frame: Frame): ServerFrameResult {
  if (typeof frame === "string") return decodeServerText(frame);
  if (frame instanceof Uint8Array) return decodeServerBinary(frame);
  return decodeFailure("invalid_shape", "a frame must be text or bytes");
}

function decodeServerText(text: string): ServerFrameResult {
  const isV2 = text.trimStart().startsWith("[");
  const encoding: FrameEncoding = isV2 ? "v2-json" : "v1-json";
  const decoded = isV2 ? decodeV2Text(text) : decodeV1Text(text);
  if (!decoded.ok) return decoded;
  const message = decoded.message;
  if (message.event === "phx_reply") return replyFromText(message, encoding);
  if (message.joinRef === null && message.ref === null) {
    return { ok: true, frame: { kind: "broadcast", encoding, broadcast: { topic: message.topic, event: message.event, payload: message.payload } } };
  }
  return { ok: true, frame: { kind: "push", encoding, message } };
}

function replyFromText(message: Message, encoding: FrameEncoding): ServerFrameResult {
  const { payload } = message;
  if (!isPlainObject(payload) || !hasOwn(payload, "response")) {
    return decodeFailure("invalid_field", "a phx_reply payload must be {\"response\": .., \"status\": ..}");
  }
  const status = payload.status;
  if (!isReplyStatus(status)) return decodeFailure("invalid_field", "a phx_reply status must be \"ok\" or \"error\"");
  const reply: Reply = { joinRef: message.joinRef, ref: message.ref, topic: message.topic, status, response: payload.response };
  return { ok: true, frame: { kind: "reply", encoding, reply } };
}

function isReplyStatus(status: unknown): status is Reply["status"] {
  return status === "ok" || status === "error";
}

function decodeServerBinary(bytes: Uint8Array): ServerFrameResult {
  const decoded = decodeBinaryFrame(bytes, SERVER_FRAME_FIELDS);
  if (!decoded.ok) return decoded;
  const { kind, fields, payload } = decoded;
  const encoding = "v2-binary";
  if (kind === BinaryKind.REPLY) {
    const [joinRef, ref, topic, status] = fields as [string, string, string, string];
    if (!isReplyStatus(status)) return decodeFailure("invalid_field", "a binary reply status must be \"ok\" or \"error\"");
    const reply: Reply = { joinRef: refFromField(joinRef), ref: refFromField(ref), topic, status, response: payload };
    return { ok: true, frame: { kind: "reply", encoding, reply } };
  }
  if (kind === BinaryKind.BROADCAST) {
    const [topic, event] = fields as [string, string];
    return { ok: true, frame: { kind: "broadcast", encoding, broadcast: { topic, event, payload } } };
  }
  const [joinRef, topic, event] = fields as [string, string, string];
  return { ok: true, frame: { kind: "push", encoding, message: { joinRef: refFromField(joinRef), ref: null, topic, event, payload } } };
}
