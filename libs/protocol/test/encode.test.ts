import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { DEFAULT_VSN, MAX_BINARY_FIELD_BYTES, serializerForVsn, v1, v2, v2Text } from "@switchboard/protocol";

const BYTES = Buffer.from([0, 1, 2, 0xff]);
const BYTES_JSON = `{"binary":"${BYTES.toString("base64")}"}`;

describe("binary payloads", () => {
  test("V2 sends each kind as its binary frame", () => {
    assert.equal(
      (v2.encodeBroadcast({ topic: "t", event: "e", payload: BYTES }) as Buffer).toString("hex"),
      "020101" + "74" + "65" + "000102ff",
    );
    assert.equal(
      (v2.encodePush({ joinRef: "3", ref: null, topic: "t", event: "e", payload: BYTES }) as Buffer).toString("hex"),
      "00010101" + "33" + "74" + "65" + "000102ff",
    );
    assert.equal(
      (v2.encodeReply({ joinRef: null, ref: "9", topic: "t", status: "error", response: BYTES }) as Buffer).toString("hex"),
      "0100010105" + "39" + "74" + Buffer.from("error").toString("hex") + "000102ff",
    );
  });

  test("a plain Uint8Array is as binary as a Buffer", () => {
    const frame = v2.encodeBroadcast({ topic: "t", event: "e", payload: new Uint8Array([7, 8]) });
    assert.ok(Buffer.isBuffer(frame));
    assert.equal(frame.toString("hex"), "02010174650708");
  });

  test("V1 and the LongPoll format carry bytes as base64 JSON", () => {
    assert.equal(v1.encodeBroadcast({ topic: "t", event: "e", payload: BYTES }), `{"event":"e","payload":${BYTES_JSON},"ref":null,"topic":"t"}`);
    assert.equal(v2Text.encodeBroadcast({ topic: "t", event: "e", payload: BYTES }), `[null,null,"t","e",${BYTES_JSON}]`);
    assert.equal(
      v2Text.encodeReply({ joinRef: "1", ref: "2", topic: "t", status: "ok", response: BYTES }),
      `["1","2","t","phx_reply",{"response":${BYTES_JSON},"status":"ok"}]`,
    );
  });

  test("a field too long for its length byte falls back to base64 JSON", () => {
    const longest = "é".repeat(MAX_BINARY_FIELD_BYTES / 2) + "x";
    assert.equal(Buffer.byteLength(longest), MAX_BINARY_FIELD_BYTES);
    assert.ok(Buffer.isBuffer(v2.encodeBroadcast({ topic: longest, event: "e", payload: BYTES })));
    const tooLong = longest + "y";
    assert.equal(v2.encodeBroadcast({ topic: tooLong, event: "e", payload: BYTES }), `[null,null,"${tooLong}","e",${BYTES_JSON}]`);
    assert.equal(typeof v2.encodeReply({ joinRef: tooLong, ref: "1", topic: "t", status: "ok", response: BYTES }), "string");
  });

  test("a server push with a ref has no binary layout and goes out as JSON", () => {
    assert.equal(v2.encodePush({ joinRef: "1", ref: "1", topic: "t", event: "e", payload: BYTES }), `["1","1","t","e",${BYTES_JSON}]`);
  });
});

describe("JSON envelopes", () => {
  test("V1 never sends join_ref and keeps Phoenix's key order", () => {
    assert.equal(
      v1.encodePush({ joinRef: "5", ref: "5", topic: "t", event: "phx_close", payload: {} }),
      '{"event":"phx_close","payload":{},"ref":"5","topic":"t"}',
    );
  });

  test("payload key order is the caller's, strings are escaped", () => {
    assert.equal(
      v2.encodeBroadcast({ topic: 'a"b', event: "e\n", payload: { z: 1, a: "\u2028" } }),
      '[null,null,"a\\"b","e\\n",{"z":1,"a":"\u2028"}]',
    );
  });

  test("an undefined payload is written as null", () => {
    assert.equal(v2.encodeBroadcast({ topic: "t", event: "e", payload: undefined }), '[null,null,"t","e",null]');
    assert.equal(v1.encodeBroadcast({ topic: "t", event: "e", payload: undefined }), '{"event":"e","payload":null,"ref":null,"topic":"t"}');
  });

  test("JSON payloads encode identically in both V2 formats (they may share a cache entry only by format)", () => {
    const broadcast = { topic: "t", event: "e", payload: { a: [1, null] } };
    assert.equal(v2.encodeBroadcast(broadcast), v2Text.encodeBroadcast(broadcast));
    assert.notEqual(v2.format, v2Text.format);
  });
});

describe("serializerForVsn", () => {
  test("versions map to serializers as Phoenix negotiates them", () => {
    assert.equal(DEFAULT_VSN, "1.0.0");
    assert.equal(serializerForVsn(undefined), v1);
    assert.equal(serializerForVsn("1.0.0"), v1);
    assert.equal(serializerForVsn("1.4.2"), v1);
    assert.equal(serializerForVsn("2.0.0"), v2);
    assert.equal(serializerForVsn("2.1.0", { binary: true }), v2);
    assert.equal(serializerForVsn("2.0.0", { binary: false }), v2Text);
    assert.equal(serializerForVsn("1.0.0", { binary: false }), v1);
  });

  test("anything else is refused", () => {
    for (const vsn of ["", "3.0.0", "0.9.0", "2", "2.0", "v2.0.0", "2.0.0 ", "2.0.0-rc", "10.0.0", "١.0.0"]) {
      assert.equal(serializerForVsn(vsn), undefined, vsn);
    }
  });
});
