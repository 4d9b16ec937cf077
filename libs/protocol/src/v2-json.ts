import { readName, readRef } from "./fields.ts";
import { parseJson, payloadJson, refJson, replyPayloadJson } from "./json-text.ts";
import type { Broadcast, Message, Reply, Ref } from "./message.ts";
import { decodeFailure, type DecodeResult } from "./serializer.ts";

/** V2 JSON (Phoenix `V2JSONSerializer`): `[join_ref, ref, topic, event, payload]`. */
export function encodeV2Push(message: Message): string {
  return v2Array(message.joinRef, message.ref, message.topic, message.event, payloadJson(message.payload));
}

export function encodeV2Reply(reply: Reply): string {
  return v2Array(reply.joinRef, reply.ref, reply.topic, "phx_reply", replyPayloadJson(reply.status, reply.response));
}

export function encodeV2Broadcast(broadcast: Broadcast): string {
  return `[null,null,${JSON.stringify(broadcast.topic)},${JSON.stringify(broadcast.event)},${payloadJson(broadcast.payload)}]`;
}

function v2Array(joinRef: Ref, ref: Ref, topic: string, event: string, payloadText: string): string {
  return `[${refJson(joinRef)},${refJson(ref)},${JSON.stringify(topic)},${JSON.stringify(event)},${payloadText}]`;
}

const V2_ARITY = 5;

export function decodeV2Text(text: string): DecodeResult {
  const parsed = parseJson(text);
  if (!parsed.ok) return decodeFailure("invalid_json", parsed.detail);
  const frame = parsed.value;
  if (!Array.isArray(frame) || frame.length !== V2_ARITY) {
    return decodeFailure("invalid_shape", "a V2 frame must be a JSON array [join_ref, ref, topic, event, payload]");
  }
  const [rawJoinRef, rawRef, rawTopic, rawEvent, payload] = frame as unknown[];
  const joinRef = readRef(rawJoinRef, "join_ref");
  if (!joinRef.ok) return joinRef;
  const ref = readRef(rawRef, "ref");
  if (!ref.ok) return ref;
  const topic = readName(rawTopic, "topic");
  if (!topic.ok) return topic;
  const event = readName(rawEvent, "event");
  if (!event.ok) return event;
  return { ok: true, message: { joinRef: joinRef.value, ref: ref.value, topic: topic.value, event: event.value, payload } };
}
