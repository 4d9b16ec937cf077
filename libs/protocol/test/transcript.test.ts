import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { decodeServerFrame, encodeClientFrame, v1, v2, v2Text } from "@switchboard/protocol";
import type { Frame, Serializer, ServerFrame } from "@switchboard/protocol";
import { readTranscript, type Section, type Step } from "../../../test/support/transcript.ts";

/**
 * The reference transcript as test vectors: every frame a real Phoenix 1.7.24 server was sent
 * must decode (or fail where Phoenix closed the socket), every frame it sent must come out of our
 * encoders byte for byte. Payloads are rebuilt from the transcript's own JSON, so their key order
 * is Phoenix's; the envelope around them is ours and must match exactly.
 */
const FIXTURE = new URL("../../../test/fixtures/phoenix-1.7.24-transcript.txt", import.meta.url);
const sections = readTranscript();

function serializerOf(section: Section): Serializer {
  return /^(V1|No vsn)/.test(section.title) ? v1 : v2;
}

function reencode(serializer: Serializer, frame: ServerFrame): Frame {
  switch (frame.kind) {
    case "push":
      return serializer.encodePush(frame.message);
    case "reply":
      return serializer.encodeReply(frame.reply);
    case "broadcast":
      return serializer.encodeBroadcast(frame.broadcast);
  }
}

function assertReproduced(serializer: Serializer, expected: Frame, where: string): void {
  const decoded = decodeServerFrame(expected);
  assert.ok(decoded.ok, `${where}: ${decoded.ok ? "" : decoded.error.detail}`);
  const encoded = reencode(serializer, decoded.frame);
  if (typeof expected === "string") assert.equal(encoded, expected, where);
  else assert.deepEqual(Buffer.from(encoded as Buffer).toString("hex"), expected.toString("hex"), where);
}

/** A client frame Phoenix answered by closing the socket (the client's next step is that close). */
function closedAfter(steps: Step[], index: number, client: string): boolean {
  const next = steps.slice(index + 1).find((step) => step.kind !== "note" && "client" in step && step.client === client);
  return next?.kind === "expect-close";
}

interface LongPollVectors {
  posted: string[];
  polled: string[];
}

/** LongPoll lines carry V2 frames as JSON strings: POST bodies (ndjson) and poll `messages`. */
function readLongPollVectors(): LongPollVectors {
  const vectors: LongPollVectors = { posted: [], polled: [] };
  for (const line of readFileSync(FIXTURE, "utf8").split("\n")) {
    const post = /^ {2}POST ("(?:[^"\\]|\\.)*") \(/.exec(line);
    if (post) vectors.posted.push(...(JSON.parse(post[1]!) as string).split("\n"));
    const poll = /^ {2}GET \(poll\) -> HTTP 200 (\{.*\})$/.exec(line);
    if (poll) vectors.polled.push(...(JSON.parse(poll[1]!) as { messages: string[] }).messages);
  }
  return vectors;
}

/** The idle-connection run prints its frames with a time offset instead of a client name. */
function readTimedServerFrames(): string[] {
  return readFileSync(FIXTURE, "utf8")
    .split("\n")
    .flatMap((line) => /^ {2}\+\d+\.\ds S->C (\[.*\])$/.exec(line)?.[1] ?? []);
}

describe("phoenix 1.7.24 transcript", () => {
  test("every client frame decodes, except those Phoenix closed the socket for", () => {
    let decoded = 0;
    let refused = 0;
    for (const section of sections) {
      const serializer = serializerOf(section);
      section.steps.forEach((step, index) => {
        if (step.kind !== "send") return;
        const result = serializer.decode(step.frame);
        const where = `${section.title} / ${step.client}: ${step.frame.toString()}`;
        if (closedAfter(section.steps, index, step.client)) {
          assert.equal(result.ok, false, `${where} should be refused`);
          refused++;
          return;
        }
        assert.ok(result.ok, `${where}: ${result.ok ? "" : result.error.detail}`);
        // The decoded message, encoded as a client would, is the very frame that was sent.
        const reencoded = encodeClientFrame(serializer, result.message);
        assert.deepEqual(reencoded, step.frame, where);
        decoded++;
      });
    }
    assert.equal(decoded, 31, "client frames in the transcript that Phoenix accepted");
    assert.equal(refused, 6, "the transcript has six malformed client frames");
  });

  test("every server frame, text and binary, is reproduced exactly by our encoders", () => {
    let reproduced = 0;
    let binary = 0;
    for (const section of sections) {
      const serializer = serializerOf(section);
      for (const step of section.steps) {
        if (step.kind !== "expect") continue;
        assertReproduced(serializer, step.frame, `${section.title} / ${step.client}`);
        reproduced++;
        if (Buffer.isBuffer(step.frame)) binary++;
      }
    }
    assert.equal(reproduced, 63, "server frames in the transcript");
    assert.equal(binary, 3);
  });

  test("the binary client push decodes to its annotated fields", () => {
    const push = Buffer.from("0002020b0432303330726f6f6d733a6c6f6262796563686f010262696eff", "hex");
    const result = v2.decode(push);
    assert.ok(result.ok);
    const { payload, ...fields } = result.message;
    assert.deepEqual(fields, { joinRef: "20", ref: "30", topic: "rooms:lobby", event: "echo" });
    assert.deepEqual(Buffer.from(payload as Uint8Array), Buffer.from([1, 2, 0x62, 0x69, 0x6e, 0xff]));
  });

  test("LongPoll frames: posted lines decode with the text-only V2 serializer, polled ones are reproduced", () => {
    const { posted, polled } = readLongPollVectors();
    assert.equal(posted.length, 5);
    assert.equal(polled.length, 8);
    for (const line of posted) {
      const result = v2Text.decode(line);
      assert.ok(result.ok, line);
      assert.equal(encodeClientFrame(v2Text, result.message), line);
    }
    for (const message of polled) assertReproduced(v2Text, message, "longpoll");
  });

  test("the idle-connection frames are reproduced", () => {
    const frames = readTimedServerFrames();
    assert.equal(frames.length, 3);
    for (const frame of frames) assertReproduced(v2, frame, "idle");
  });
});
