import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { decodeServerFrame, encodeClientFrame, isBinaryPayload, v1, v2, v2Text } from "@switchboard/protocol";
import type { Broadcast, DecodeResult, Frame, Message, Payload, Reply, Serializer, ServerFrame } from "@switchboard/protocol";

const SERIALIZERS = [v1, v2, v2Text];

/** Names around the 255-byte limit of binary fields, in one- to four-byte characters. */
const nearBinaryLimit = fc.string({ unit: fc.constantFrom("a", "é", "€", "😀"), minLength: 60, maxLength: 260 });
const name = fc.oneof(
  fc.string({ minLength: 1, maxLength: 12 }),
  fc.string({ unit: "binary", minLength: 1, maxLength: 12 }),
  nearBinaryLimit.filter((text) => text.length > 0),
);
/** Events other than phx_reply: a push named phx_reply is, on the wire, a reply. */
const event = name.filter((text) => text !== "phx_reply");
const ref = fc.option(name, { nil: null });
const jsonPayload = fc.oneof(fc.jsonValue(), fc.jsonValue({ stringUnit: "binary" }));
const bytesPayload = fc.oneof(
  fc.uint8Array({ maxLength: 64 }),
  fc.uint8Array({ maxLength: 64 }).map((bytes) => Buffer.from(bytes)),
);
const payload = fc.oneof(jsonPayload, bytesPayload);

const message = fc.record({ joinRef: ref, ref, topic: name, event, payload });
const broadcast = fc.record({ topic: name, event, payload });
const reply = fc.record({ joinRef: ref, ref, topic: name, status: fc.constantFrom("ok" as const, "error" as const), response: payload });

/** What a payload reads back as: bytes stay bytes in a binary frame, else base64 JSON; JSON as JSON. */
function asReceived(value: Payload, frame: Frame): unknown {
  if (isBinaryPayload(value)) {
    const bytes = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    return typeof frame === "string" ? { binary: bytes.toString("base64") } : { bytes: bytes.toString("hex") };
  }
  return JSON.parse(JSON.stringify(value) ?? "null");
}

function received(value: Payload): unknown {
  return isBinaryPayload(value) ? { bytes: Buffer.from(value).toString("hex") } : value;
}

function decodedOk(result: DecodeResult): Message {
  assert.ok(result.ok, result.ok ? "" : `${result.error.code}: ${result.error.detail}`);
  return result.message;
}

function decodedServerFrame(frame: Frame): ServerFrame {
  const result = decodeServerFrame(frame);
  assert.ok(result.ok, result.ok ? "" : `${result.error.code}: ${result.error.detail}`);
  return result.frame;
}

function reencode(serializer: Serializer, frame: ServerFrame): Frame {
  if (frame.kind === "push") return serializer.encodePush(frame.message);
  if (frame.kind === "reply") return serializer.encodeReply(frame.reply);
  return serializer.encodeBroadcast(frame.broadcast);
}

function assertSameFrame(actual: Frame, expected: Frame): void {
  assert.equal(typeof actual, typeof expected);
  assert.ok(typeof expected === "string" ? actual === expected : Buffer.compare(actual as Buffer, expected) === 0);
}

describe("round trips", () => {
  for (const serializer of SERIALIZERS) {
    test(`${serializer.format}: client frames decode to the message sent`, () => {
      fc.assert(
        fc.property(message, (sent) => {
          const frame = encodeClientFrame(serializer, sent);
          const got = decodedOk(serializer.decode(frame));
          assert.deepEqual(
            { ...got, payload: received(got.payload) },
            { ...sent, payload: asReceived(sent.payload, frame) },
          );
        }),
      );
    });

    test(`${serializer.format}: broadcasts decode to what was sent and re-encode to the same frame`, () => {
      fc.assert(
        fc.property(broadcast, (sent: Broadcast) => {
          const frame = serializer.encodeBroadcast(sent);
          const got = decodedServerFrame(frame);
          assert.equal(got.kind, "broadcast");
          if (got.kind !== "broadcast") return;
          assert.deepEqual({ ...got.broadcast, payload: received(got.broadcast.payload) }, { ...sent, payload: asReceived(sent.payload, frame) });
          assertSameFrame(reencode(serializer, got), frame);
        }),
      );
    });

    test(`${serializer.format}: pushes decode to what was sent and re-encode to the same frame`, () => {
      fc.assert(
        fc.property(message, (sent) => {
          const frame = serializer.encodePush(sent);
          const got = decodedServerFrame(frame);
          // V1 never sends join_ref; a text push without any ref reads as a broadcast (binary
          // frames tell them apart by kind).
          const joinRef = serializer === v1 ? null : sent.joinRef;
          const payloadSent = asReceived(sent.payload, frame);
          if (typeof frame === "string" && joinRef === null && sent.ref === null) {
            assert.equal(got.kind, "broadcast");
            if (got.kind === "broadcast") {
              assert.deepEqual({ ...got.broadcast, payload: received(got.broadcast.payload) }, { topic: sent.topic, event: sent.event, payload: payloadSent });
            }
          } else {
            assert.equal(got.kind, "push");
            if (got.kind === "push") {
              assert.deepEqual({ ...got.message, payload: received(got.message.payload) }, { ...sent, joinRef, payload: payloadSent });
            }
          }
          assertSameFrame(reencode(serializer, got), frame);
        }),
      );
    });

    test(`${serializer.format}: replies decode to what was sent and re-encode to the same frame`, () => {
      fc.assert(
        fc.property(reply, (sent: Reply) => {
          const frame = serializer.encodeReply(sent);
          const got = decodedServerFrame(frame);
          assert.equal(got.kind, "reply");
          if (got.kind !== "reply") return;
          const joinRef = serializer === v1 ? null : sent.joinRef;
          assert.deepEqual({ ...got.reply, response: received(got.reply.response) }, { ...sent, joinRef, response: asReceived(sent.response, frame) });
          assertSameFrame(reencode(serializer, got), frame);
        }),
      );
    });
  }

  test("v2 uses a binary frame exactly when every field fits a length byte", () => {
    fc.assert(
      fc.property(broadcast, bytesPayload, (sent, bytes) => {
        const frame = v2.encodeBroadcast({ ...sent, payload: bytes });
        const fits = Buffer.byteLength(sent.topic) <= 255 && Buffer.byteLength(sent.event) <= 255;
        assert.equal(Buffer.isBuffer(frame), fits);
      }),
    );
  });
});

/** Code units of any kind, lone surrogates included. */
const anyText = fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((unit) => String.fromCharCode(unit)), maxLength: 80 });
const anyJson = fc.jsonValue({ stringUnit: "binary" });
const shapedText = fc.oneof(
  anyText,
  anyJson.map((value) => JSON.stringify(value)),
  fc.array(anyJson, { minLength: 4, maxLength: 6 }).map((values) => JSON.stringify(values)),
  fc.dictionary(fc.constantFrom("topic", "event", "payload", "ref", "join_ref", "x"), anyJson).map((value) => JSON.stringify(value)),
);
/** Bytes that start like a binary frame, so the length checks get exercised, not only the kind. */
const shapedBytes = fc.oneof(
  fc.uint8Array({ maxLength: 80 }),
  fc
    .tuple(fc.integer({ min: 0, max: 3 }), fc.array(fc.integer({ min: 0, max: 12 }), { minLength: 0, maxLength: 4 }), fc.uint8Array({ maxLength: 40 }))
    .map(([kind, lengths, rest]) => Uint8Array.from([kind, ...lengths, ...rest])),
);
const anyFrame: fc.Arbitrary<Frame> = fc.oneof(shapedText, shapedBytes.map((bytes) => Buffer.from(bytes)), shapedBytes as fc.Arbitrary<Frame>);

describe("decoding never throws", () => {
  for (const serializer of SERIALIZERS) {
    test(`${serializer.format}.decode on arbitrary text and bytes`, () => {
      fc.assert(
        fc.property(anyFrame, (frame) => {
          const result = serializer.decode(frame);
          if (!result.ok) return typeof result.error.code === "string" && typeof result.error.detail === "string";
          const { topic, event, joinRef, ref: got } = result.message;
          return topic !== "" && event !== "" && [joinRef, got].every((value) => value === null || typeof value === "string");
        }),
        { numRuns: 2_000 },
      );
    });
  }

  test("decodeServerFrame on arbitrary text and bytes", () => {
    fc.assert(
      fc.property(anyFrame, (frame) => typeof decodeServerFrame(frame).ok === "boolean"),
      { numRuns: 2_000 },
    );
  });

  test("a V2 array of five is accepted exactly when refs are strings or null and topic/event non-empty strings", () => {
    const isRef = (value: unknown) => value === null || typeof value === "string";
    const isName = (value: unknown) => typeof value === "string" && value !== "";
    const field = fc.oneof(anyJson, fc.constant(""), fc.constant(null), name);
    fc.assert(
      fc.property(fc.tuple(field, field, field, field, anyJson), (frame) => {
        const [joinRef, got, topic, sentEvent] = frame;
        const valid = isRef(joinRef) && isRef(got) && isName(topic) && isName(sentEvent);
        const result = v2.decode(JSON.stringify(frame));
        assert.equal(result.ok, valid);
        if (!result.ok) assert.equal(result.error.code, "invalid_field");
      }),
      { numRuns: 1_000 },
    );
  });
});
