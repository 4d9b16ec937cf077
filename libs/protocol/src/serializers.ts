import { isBinaryPayload, type Frame } from "./message.ts";
import { decodeFailure, type DecodeResult, type Serializer } from "./serializer.ts";
import { decodeV1Text, encodeV1Broadcast, encodeV1Push, encodeV1Reply } from "./v1-json.ts";
import { decodeV2Text, encodeV2Broadcast, encodeV2Push, encodeV2Reply } from "./v2-json.ts";
import {
  decodeBinaryClientPush,
  encodeBinaryBroadcast,
  encodeBinaryReply,
  encodeBinaryServerPush,
} from "./v2-binary.ts";

/** Frames arrive from transports typed as Frame, but a decoder must survive anything. */
function isBytes(frame: unknown): frame is Uint8Array {
  return frame instanceof Uint8Array;
}

/** V1 JSON (`vsn=1.x`, and the default without `vsn`): text only, bytes as `{"binary":"<base64>"}`. */
export const v1: Serializer = {
  vsn: "1.0.0",
  format: "v1",
  decode(frame: Frame): DecodeResult {
    if (typeof frame === "string") return decodeV1Text(frame);
    if (isBytes(frame)) return decodeFailure("binary_not_supported", "V1 has no binary frames");
    return decodeFailure("invalid_shape", "a frame must be text or bytes");
  },
  encodePush: encodeV1Push,
  encodeReply: encodeV1Reply,
  encodeBroadcast: encodeV1Broadcast,
};

function decodeV2(frame: Frame): DecodeResult {
  if (typeof frame === "string") return decodeV2Text(frame);
  if (isBytes(frame)) return decodeBinaryClientPush(frame);
  return decodeFailure("invalid_shape", "a frame must be text or bytes");
}

/**
 * V2 over WebSocket (`vsn=2.x`): JSON arrays, and binary frames for byte payloads. When a binary
 * frame cannot carry a message (a field over 255 bytes, a push with a ref) it goes out as JSON
 * with `{"binary":"<base64>"}` rather than failing.
 */
export const v2: Serializer = {
  vsn: "2.0.0",
  format: "v2",
  decode: decodeV2,
  encodePush(message) {
    return (isBinaryPayload(message.payload) && encodeBinaryServerPush(message, message.payload)) || encodeV2Push(message);
  },
  encodeReply(reply) {
    return (isBinaryPayload(reply.response) && encodeBinaryReply(reply, reply.response)) || encodeV2Reply(reply);
  },
  encodeBroadcast(broadcast) {
    return (isBinaryPayload(broadcast.payload) && encodeBinaryBroadcast(broadcast, broadcast.payload)) || encodeV2Broadcast(broadcast);
  },
};

/**
 * V2 for LongPoll, whose JSON bodies cannot hold binary frames: bytes as `{"binary":"<base64>"}`.
 * Decoding still takes binary frames: a base64 line in a LongPoll POST is one.
 */
export const v2Text: Serializer = {
  vsn: "2.0.0",
  format: "v2-text",
  decode: decodeV2,
  encodePush: encodeV2Push,
  encodeReply: encodeV2Reply,
  encodeBroadcast: encodeV2Broadcast,
};
