import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { isRawJson, parseRawJson, payloadJson, payloadValue, trustedRawJson, v1, v2, v2Text } from "@switchboard/protocol";

const TEXT = '{ "text" : "héllo ✓",\n "n": [1.50, null] }';

describe("RawJson payloads", () => {
  test("every JSON format splices the published text in unchanged", () => {
    const payload = parseRawJson(Buffer.from(TEXT))!;
    assert.equal(v2.encodeBroadcast({ topic: "t", event: "e", payload }), `[null,null,"t","e",${TEXT}]`);
    assert.equal(v2Text.encodeBroadcast({ topic: "t", event: "e", payload }), `[null,null,"t","e",${TEXT}]`);
    assert.equal(v1.encodeBroadcast({ topic: "t", event: "e", payload }), `{"event":"e","payload":${TEXT},"ref":null,"topic":"t"}`);
    assert.equal(v2.encodePush({ joinRef: null, ref: "7", topic: "t", event: "e", payload }), `[null,"7","t","e",${TEXT}]`);
  });

  test("frames of a RawJson parse to what the value's frames parse to", () => {
    const payload = trustedRawJson(Buffer.from(TEXT));
    const value = JSON.parse(TEXT) as unknown;
    for (const serializer of [v1, v2, v2Text]) {
      const raw = serializer.encodeBroadcast({ topic: "t", event: "e", payload }) as string;
      const parsed = serializer.encodeBroadcast({ topic: "t", event: "e", payload: value }) as string;
      assert.deepEqual(JSON.parse(raw), JSON.parse(parsed));
    }
  });

  test("text and bytes are the same UTF-8, whichever it was made from", () => {
    const fromBytes = trustedRawJson(Buffer.from(TEXT));
    assert.equal(fromBytes.text, TEXT);
    const parsed = parseRawJson(new Uint8Array(Buffer.from(TEXT)))!;
    assert.deepEqual(parsed.bytes, Buffer.from(TEXT));
    assert.equal(payloadJson(parsed), TEXT);
  });

  test("the value is there for code that needs it, JSON.stringify included", () => {
    const payload = trustedRawJson(Buffer.from(TEXT));
    assert.deepEqual(payloadValue(payload), { text: "héllo ✓", n: [1.5, null] });
    assert.equal(JSON.stringify({ payload }), '{"payload":{"text":"héllo ✓","n":[1.5,null]}}');
    assert.deepEqual(payloadValue({ plain: true }), { plain: true });
  });

  test("only UTF-8 JSON text parses", () => {
    for (const bytes of [Buffer.from("{not json"), Buffer.from([0x7b, 0xff, 0x7d]), Buffer.alloc(0), Buffer.from('{"a":1} x')]) {
      assert.equal(parseRawJson(bytes), undefined, bytes.toString("hex"));
    }
    assert.ok(isRawJson(parseRawJson(Buffer.from("[1]"))));
    assert.ok(!isRawJson({ text: "[1]" }));
    assert.ok(!isRawJson(Buffer.from("[1]")));
  });

  test("a frozen payload is encoded once, however many frames carry it", () => {
    let encodings = 0;
    const payload = Object.freeze({ toJSON: () => (encodings += 1, { shared: true }) });
    for (const serializer of [v1, v2, v2Text]) {
      assert.match(serializer.encodePush({ joinRef: "1", ref: null, topic: "t", event: "e", payload }) as string, /\{"shared":true\}/);
    }
    assert.equal(encodings, 1);
    assert.equal(payloadJson({ toJSON: () => (encodings += 1, 0) }), "0");
    assert.equal(encodings, 2, "unfrozen payloads are encoded every time");
  });
});
