import { hasOwn, isPlainObject, readName, readRef } from "./fields.ts";
import { parseJson, payloadJson, refJson, replyPayloadJson } from "./json-text.ts";
import type { Broadcast, Message, Reply, Ref } from "./message.ts";
import { decodeFailure, type DecodeResult } from "./serializer.ts";

/**
 * V1 JSON (Phoenix `V1JSONSerializer`): one object per frame. The server never sends `join_ref`
 * in V1; keys go out in the order Phoenix 1.7 writes them: event, payload, ref, topic.
 */
export function encodeV1Push(message: Message): string {
  return v1Object(message.event, payloadJson(message.payload), message.ref, message.topic);
}

export function encodeV1Reply(reply: Reply): string {
  return v1Object("phx_reply", replyPayloadJson(reply.status, reply.response), reply.ref, reply.topic);
}

export function encodeV1Broadcast(broadcast: Broadcast): string {
  return v1Object(broadcast.event, payloadJson(broadcast.payload), null, broadcast.topic);
}

function v1Object(event: string, payloadText: string, ref: Ref, topic: string): string {
  return `{"event":${JSON.stringify(event)},"payload":${payloadText},"ref":${refJson(ref)},"topic":${JSON.stringify(topic)}}`;
}

const REQUIRED_KEYS = ["topic", "event", "payload", "ref"] as const;

/** A V1 object `{"topic","event","payload","ref"}`; `join_ref` is taken when a client sends it. */
export function decodeV1Text(text: string): DecodeResult {
  const parsed = parseJson(text);
  if (!parsed.ok) return decodeFailure("invalid_json", parsed.detail);
  const frame = parsed.value;
  if (!isPlainObject(frame)) return decodeFailure("invalid_shape", "a V1 frame must be a JSON object");
  for (const key of REQUIRED_KEYS) {
    if (!hasOwn(frame, key)) return decodeFailure("invalid_shape", `a V1 frame needs "${key}"`);
  }
  const topic = readName(frame.topic, "topic");
  if (!topic.ok) return topic;
  const event = readName(frame.event, "event");
  if (!event.ok) return event;
  const ref = readRef(frame.ref, "ref");
  if (!ref.ok) return ref;
  const joinRef = readRef(hasOwn(frame, "join_ref") ? frame.join_ref : null, "join_ref");
  if (!joinRef.ok) return joinRef;
  return { ok: true, message: { joinRef: joinRef.value, ref: ref.value, topic: topic.value, event: event.value, payload: frame.payload } };
}
