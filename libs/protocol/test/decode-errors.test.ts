import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { decodeServerFrame, v1, v2, v2Text } from "@switchboard/protocol";
import type { DecodeErrorCode, Frame, Serializer } from "@switchboard/protocol";

function assertRefused(serializer: Serializer, frame: Frame, code: DecodeErrorCode): void {
  const result = serializer.decode(frame);
  assert.equal(result.ok, false, `${serializer.format} accepted ${String(frame)}`);
  if (!result.ok) {
    assert.equal(result.error.code, code, result.error.detail);
    assert.ok(result.error.detail.length > 0);
  }
}

function hex(text: string): Buffer {
  return Buffer.from(text, "hex");
}

const V2_FORMATS = [v2, v2Text];

describe("malformed frames from the transcript", () => {
  test("text that is not JSON", () => {
    for (const serializer of [v1, ...V2_FORMATS]) assertRefused(serializer, "{not json", "invalid_json");
  });

  test("a V1 object sent to V2", () => {
    for (const serializer of V2_FORMATS) {
      assertRefused(serializer, '{"topic":"rooms:lobby","event":"phx_join","payload":{},"ref":"1"}', "invalid_shape");
    }
  });

  test("a V2 array of three", () => {
    for (const serializer of V2_FORMATS) assertRefused(serializer, '["1","1","rooms:lobby"]', "invalid_shape");
  });

  test("a V2 array sent to V1 (no vsn)", () => {
    assertRefused(v1, '[null,"2","phoenix","heartbeat",{}]', "invalid_shape");
  });

  test("a binary push without its ref length byte is truncated", () => {
    for (const serializer of V2_FORMATS) assertRefused(serializer, hex("00010b0431726f6f6d733a6c6f6262796563686f78"), "invalid_binary");
  });
});

describe("shapes", () => {
  test("V2 arrays must have exactly five elements", () => {
    assertRefused(v2, '["1","1","t","e",{},"extra"]', "invalid_shape");
    assertRefused(v2, "[]", "invalid_shape");
    assertRefused(v2, '"just a string"', "invalid_shape");
    assertRefused(v2, "null", "invalid_shape");
  });

  test("V1 objects need topic, event, payload and ref", () => {
    assertRefused(v1, '{"topic":"t","event":"e","payload":{}}', "invalid_shape");
    assertRefused(v1, '{"topic":"t","event":"e","ref":"1"}', "invalid_shape");
    assertRefused(v1, "null", "invalid_shape");
    assertRefused(v1, "42", "invalid_shape");
  });

  test("V1 has no binary frames", () => {
    assertRefused(v1, hex("0002020b0432303330726f6f6d733a6c6f6262796563686f010262696eff"), "binary_not_supported");
    assertRefused(v1, new Uint8Array([0, 0, 0, 1, 1, 0x74, 0x65]) as Buffer, "binary_not_supported");
  });

  test("input that is neither text nor bytes is refused, not thrown on", () => {
    for (const serializer of [v1, ...V2_FORMATS]) {
      for (const junk of [null, undefined, 42, {}, ["1"]]) assertRefused(serializer, junk as unknown as Frame, "invalid_shape");
    }
  });
});

describe("fields", () => {
  test("refs must be strings or null", () => {
    assertRefused(v2, '[1,"1","t","e",{}]', "invalid_field");
    assertRefused(v2, '["1",2,"t","e",{}]', "invalid_field");
    assertRefused(v2, '["1",{},"t","e",{}]', "invalid_field");
    assertRefused(v1, '{"topic":"t","event":"e","payload":{},"ref":3}', "invalid_field");
    assertRefused(v1, '{"topic":"t","event":"e","payload":{},"ref":"3","join_ref":7}', "invalid_field");
  });

  test("topic and event must be non-empty strings", () => {
    assertRefused(v2, '["1","1","","e",{}]', "invalid_field");
    assertRefused(v2, '["1","1","t","",{}]', "invalid_field");
    assertRefused(v2, '["1","1",null,"e",{}]', "invalid_field");
    assertRefused(v2, '["1","1","t",["e"],{}]', "invalid_field");
    assertRefused(v1, '{"topic":"","event":"e","payload":{},"ref":null}', "invalid_field");
    assertRefused(v1, '{"topic":"t","event":5,"payload":{},"ref":null}', "invalid_field");
  });

  test("V1 takes join_ref when a client sends it", () => {
    const result = v1.decode('{"topic":"t","event":"e","payload":{"a":1},"ref":"2","join_ref":"1"}');
    assert.ok(result.ok);
    assert.deepEqual(result.message, { joinRef: "1", ref: "2", topic: "t", event: "e", payload: { a: 1 } });
  });
});

describe("binary frames", () => {
  test("clients send pushes only: kinds 1 and 2 and unknown kinds are refused", () => {
    assertRefused(v2, hex("0102020b0232303330726f6f6d733a6c6f6262796f6b010262696eff"), "invalid_binary");
    assertRefused(v2, hex("020b07726f6f6d733a6c6f6262796e65775f6d73677261776279746573"), "invalid_binary");
    assertRefused(v2, hex("07000001017465"), "invalid_binary");
  });

  test("empty and header-truncated frames", () => {
    assertRefused(v2, Buffer.alloc(0), "invalid_binary");
    assertRefused(v2, hex("00"), "invalid_binary");
    assertRefused(v2, hex("00000001"), "invalid_binary");
  });

  test("field lengths past the end of the frame", () => {
    assertRefused(v2, hex("00000001037465"), "invalid_binary");
    assertRefused(v2, hex("00ff0001017465"), "invalid_binary");
  });

  test("fields must be UTF-8, topic and event non-empty", () => {
    assertRefused(v2, hex("0000000101ff65"), "invalid_field");
    assertRefused(v2, hex("0000000201ffbf65"), "invalid_field");
    assertRefused(v2, hex("000000000165"), "invalid_field");
    assertRefused(v2, hex("000000010074"), "invalid_field");
  });

  test("a genuine U+FFFD in a field is valid UTF-8", () => {
    const result = v2.decode(hex("0000000301efbfbd65"));
    assert.ok(result.ok);
    assert.equal(result.message.topic, "\uFFFD");
  });

  test("a frame that ends after its fields has an empty payload", () => {
    const result = v2.decode(hex("00000001017465"));
    assert.ok(result.ok);
    assert.equal((result.message.payload as Uint8Array).byteLength, 0);
  });

  test("empty join_ref and ref fields read as null", () => {
    const result = v2Text.decode(Buffer.from([0, 0, 0, 1, 1, 0x74, 0x65, 9]));
    assert.ok(result.ok);
    assert.deepEqual({ ...result.message, payload: [...(result.message.payload as Uint8Array)] }, {
      joinRef: null,
      ref: null,
      topic: "t",
      event: "e",
      payload: [9],
    });
  });
});

describe("client codec: server frames", () => {
  test("malformed server frames are errors", () => {
    const cases: Array<[Frame, DecodeErrorCode]> = [
      ["{not json", "invalid_json"],
      ['[null,"1","t","phx_reply",{"status":"ok"}]', "invalid_field"],
      ['[null,"1","t","phx_reply",{"response":{},"status":"maybe"}]', "invalid_field"],
      ['[null,"1","t","phx_reply",[]]', "invalid_field"],
      [hex("0102020b02"), "invalid_binary"],
      [hex("0100000101746d61"), "invalid_field"],
      [hex("03"), "invalid_binary"],
      [42 as unknown as Frame, "invalid_shape"],
    ];
    for (const [frame, code] of cases) {
      const result = decodeServerFrame(frame);
      assert.equal(result.ok, false, String(frame));
      if (!result.ok) assert.equal(result.error.code, code, `${String(frame)}: ${result.error.detail}`);
    }
  });
});
