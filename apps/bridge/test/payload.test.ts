import assert from "node:assert/strict";
import { test } from "node:test";
import { isRawJson, payloadValue } from "@switchboard/protocol";
import { classifyPayload } from "../src/payload.ts";

test("JSON objects and arrays become JSON payloads", () => {
  assert.deepEqual(payloadValue(classifyPayload(Buffer.from('{"a":1,"b":[true,null]}'))), { a: 1, b: [true, null] });
  assert.deepEqual(payloadValue(classifyPayload(Buffer.from("[1,2]"))), [1, 2]);
  assert.deepEqual(payloadValue(classifyPayload(Buffer.from('{"text":"héllo ✓"}'))), { text: "héllo ✓" });
});

test("a JSON payload keeps the text it was published as, whitespace and all", () => {
  const text = '{ "a" : 1.50,\n "b": "héllo ✓" }';
  const payload = classifyPayload(Buffer.from(text));
  assert.ok(isRawJson(payload));
  assert.equal(payload.text, text);
  assert.deepEqual(payload.bytes, Buffer.from(text));
});

test("everything else is binary, byte for byte", () => {
  const cases = [
    Buffer.from("plain text"),
    Buffer.from("42"),
    Buffer.from('"a string"'),
    Buffer.from(" {\"leading\":\"space\"}"),
    Buffer.from("{not json"),
    Buffer.from([0x7b, 0xff, 0xfe, 0x7d]),
    Buffer.from([0, 1, 2, 255]),
    Buffer.alloc(0),
  ];
  for (const data of cases) {
    const payload = classifyPayload(data);
    assert.ok(Buffer.isBuffer(payload), `${data.toString("hex")} should be binary`);
    assert.deepEqual(payload, data);
  }
});

test("JSON-looking bytes that are not valid UTF-8 stay binary instead of being mangled", () => {
  const data = Buffer.concat([Buffer.from('{"a":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]);
  assert.ok(Buffer.isBuffer(classifyPayload(data)));
});
