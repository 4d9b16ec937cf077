import { isUtf8 } from "node:buffer";
import type { Broadcast, Message, Reply, Ref } from "./message.ts";
import { decodeFailure, type DecodeError, type DecodeResult } from "./serializer.ts";

/**
 * V2 binary frames (Phoenix `V2JSONSerializer`, binary clauses): the payload is raw bytes.
 * Every kind has the same shape: a kind byte, one length byte per string field, the fields
 * (UTF-8), then the payload up to the end of the frame.
 *
 * | kind | name         | sent by | length bytes                           | fields, then payload               |
 * | ---- | ------------ | ------- | -------------------------------------- | ---------------------------------- |
 * | 0    | client push  | client  | join_ref, ref, topic, event            | join_ref ref topic event payload   |
 * | 0    | server push  | server  | join_ref, topic, event (no ref)        | join_ref topic event payload       |
 * | 1    | reply        | server  | join_ref, ref, topic, status           | join_ref ref topic status payload  |
 * | 2    | broadcast    | server  | topic, event                           | topic event payload                |
 *
 * A null ref is written as an empty field and an empty field reads back as null: Phoenix refs are
 * counters, never empty strings.
 */
export const BinaryKind = { PUSH: 0, REPLY: 1, BROADCAST: 2 } as const;

/** Field lengths are single bytes. */
export const MAX_BINARY_FIELD_BYTES = 255;

/** Number of string fields after the kind byte, per kind, for each direction. */
export const CLIENT_FRAME_FIELDS: Readonly<Record<number, number>> = { [BinaryKind.PUSH]: 4 };
export const SERVER_FRAME_FIELDS: Readonly<Record<number, number>> = {
  [BinaryKind.PUSH]: 3,
  [BinaryKind.REPLY]: 4,
  [BinaryKind.BROADCAST]: 2,
};

/**
 * Encodes `kind, len(field)…, field…, payload` in one allocation. Undefined when a field is
 * longer than a length byte can say; the caller then falls back to a JSON frame.
 */
export function encodeBinaryFrame(kind: number, fields: readonly string[], payload: Uint8Array): Buffer | undefined {
  const lengths: number[] = [];
  let size = 1 + fields.length + payload.byteLength;
  for (const field of fields) {
    const length = Buffer.byteLength(field, "utf8");
    if (length > MAX_BINARY_FIELD_BYTES) return undefined;
    lengths.push(length);
    size += length;
  }
  const frame = Buffer.allocUnsafe(size);
  frame[0] = kind;
  let offset = 1;
  for (const length of lengths) frame[offset++] = length;
  for (let index = 0; index < fields.length; index++) offset += frame.write(fields[index]!, offset, lengths[index], "utf8");
  frame.set(payload, offset);
  return frame;
}

/** Server push to one socket. The layout has no ref: undefined when there is one to carry. */
export function encodeBinaryServerPush(message: Message, payload: Uint8Array): Buffer | undefined {
  if (message.ref !== null) return undefined;
  return encodeBinaryFrame(BinaryKind.PUSH, [refField(message.joinRef), message.topic, message.event], payload);
}

export function encodeBinaryReply(reply: Reply, response: Uint8Array): Buffer | undefined {
  return encodeBinaryFrame(BinaryKind.REPLY, [refField(reply.joinRef), refField(reply.ref), reply.topic, reply.status], response);
}

export function encodeBinaryBroadcast(broadcast: Broadcast, payload: Uint8Array): Buffer | undefined {
  return encodeBinaryFrame(BinaryKind.BROADCAST, [broadcast.topic, broadcast.event], payload);
}

export function encodeBinaryClientPush(message: Message, payload: Uint8Array): Buffer | undefined {
  return encodeBinaryFrame(BinaryKind.PUSH, [refField(message.joinRef), refField(message.ref), message.topic, message.event], payload);
}

/** What a server accepts: clients send binary pushes only. */
export function decodeBinaryClientPush(bytes: Uint8Array): DecodeResult {
  const frame = decodeBinaryFrame(bytes, CLIENT_FRAME_FIELDS);
  if (!frame.ok) return frame;
  const [joinRef, ref, topic, event] = frame.fields as [string, string, string, string];
  if (topic === "") return decodeFailure("invalid_field", "topic must be a non-empty string");
  if (event === "") return decodeFailure("invalid_field", "event must be a non-empty string");
  return { ok: true, message: { joinRef: refFromField(joinRef), ref: refFromField(ref), topic, event, payload: frame.payload } };
}

export function refField(ref: Ref): string {
  return ref ?? "";
}

export function refFromField(field: string): Ref {
  return field === "" ? null : field;
}

const REPLACEMENT_CHARACTER = "\uFFFD";

export type BinaryFrameResult =
  | { ok: true; kind: number; fields: string[]; payload: Buffer }
  | { ok: false; error: DecodeError };

/**
 * Splits a binary frame of one of the `accepted` kinds (kind → field count). Never throws: a
 * truncated header, field lengths past the end or fields that are not UTF-8 are errors.
 * The payload shares memory with the frame.
 */
export function decodeBinaryFrame(bytes: Uint8Array, accepted: Readonly<Record<number, number>>): BinaryFrameResult {
  const frame = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (frame.length === 0) return decodeFailure("invalid_binary", "empty binary frame");
  const kind = frame[0]!;
  const fieldCount = accepted[kind];
  if (fieldCount === undefined) return decodeFailure("invalid_binary", `binary frame kind ${kind} not accepted here`);
  const headerSize = 1 + fieldCount;
  if (frame.length < headerSize) return decodeFailure("invalid_binary", `binary frame of kind ${kind} truncated in its header`);
  const fields: string[] = [];
  let offset = headerSize;
  for (let index = 0; index < fieldCount; index++) {
    const end = offset + frame[1 + index]!;
    if (end > frame.length) return decodeFailure("invalid_binary", `binary frame of kind ${kind} shorter than its field lengths`);
    const field = frame.toString("utf8", offset, end);
    // Invalid UTF-8 always decodes to U+FFFD, so only a field containing one needs the exact check.
    if (field.includes(REPLACEMENT_CHARACTER) && !isUtf8(frame.subarray(offset, end))) {
      return decodeFailure("invalid_field", `binary frame field ${index + 1} is not UTF-8`);
    }
    fields.push(field);
    offset = end;
  }
  return { ok: true, kind, fields, payload: frame.subarray(offset) };
}

