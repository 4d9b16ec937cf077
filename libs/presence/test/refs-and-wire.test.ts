import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import * as encoding from "lib0/encoding";
import { pino } from "pino";
import { PresenceEngine } from "../src/engine.ts";
import { entryKey, parseEntryKey } from "../src/entry.ts";
import { createRefGenerator } from "../src/phx-ref.ts";
import { WIRE_VERSION, decodeMessage, encodeMessage, type Message } from "../src/wire.ts";

describe("phx_ref", () => {
  it("is unique across generators (nodes, restarts) and shaped like Phoenix's", () => {
    const seen = new Set<string>();
    for (let generator = 0; generator < 20; generator += 1) {
      const next = createRefGenerator();
      for (let index = 0; index < 5_000; index += 1) {
        const ref = next();
        assert.match(ref, /^[A-Za-z0-9_-]{16}$/);
        assert.ok(!seen.has(ref), `duplicate phx_ref ${ref}`);
        seen.add(ref);
      }
    }
  });
});

describe("presence wire format", () => {
  const bytes = fc.uint8Array({ maxLength: 64 });
  const plain = { noNullPrototype: true } as const;
  const item = fc.record({ generation: fc.nat(), full: fc.boolean(), sync: bytes }, plain);
  const message: fc.Arbitrary<Message> = fc.oneof(
    fc.record({ kind: fc.constant("changes" as const), items: fc.array(item, { maxLength: 4 }) }, plain),
    fc.record({ kind: fc.constant("snapshot" as const), for: fc.string(), items: fc.array(item, { maxLength: 4 }) }, plain),
    fc.record(
      {
        kind: fc.constant("sync-request" as const),
        target: fc.string(),
        wants: fc.array(fc.record({ owner: fc.string(), generation: fc.nat(), stateVector: bytes }, plain), { maxLength: 4 }),
      },
      plain,
    ),
    fc.record({ kind: fc.constant("heartbeat" as const) }, plain),
    fc.record({ kind: fc.constant("bye" as const) }, plain),
  ).chain((body) => fc.record({ from: fc.string({ minLength: 1 }), seq: fc.nat() }, plain).map((stamp) => ({ ...body, ...stamp }) as Message));

  it("round-trips every message kind", () => {
    fc.assert(
      fc.property(message, (original) => {
        const decoded = decodeMessage(encodeMessage(original));
        assert.ok(decoded.ok);
        assert.deepEqual(decoded.message, original);
      }),
    );
  });

  it("reports, never throws, on arbitrary or truncated bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (garbage) => {
        const decoded = decodeMessage(garbage);
        if (!decoded.ok) assert.equal(typeof decoded.reason, "string");
      }),
    );
    fc.assert(
      fc.property(message, fc.nat(), (original, cut) => {
        const encoded = encodeMessage(original);
        const truncated = encoded.subarray(0, cut % encoded.length);
        assert.equal(decodeMessage(truncated).ok, false);
      }),
    );
  });
});

describe("messages of another wire version (a rolling upgrade)", () => {
  it("are dropped with one warning per version, not one per message", () => {
    const warnings: Array<{ msg: string; version?: number }> = [];
    const logger = pino({ level: "warn" }, { write: (line: string) => void warnings.push(JSON.parse(line)) });
    const engine = new PresenceEngine({ incarnation: "n.1", logger, onDirty: () => {}, onBatch: () => {}, onDiff: () => {} });
    const fromRelease = (version: number) => {
      const encoder = encoding.createEncoder();
      encoding.writeVarUint(encoder, version);
      encoding.writeVarUint(encoder, 4);
      return encoding.toUint8Array(encoder);
    };
    for (let heartbeat = 0; heartbeat < 5; heartbeat += 1) {
      assert.deepEqual(engine.receive(fromRelease(WIRE_VERSION - 1)), []);
      assert.deepEqual(engine.receive(fromRelease(WIRE_VERSION + 1)), []);
    }
    assert.deepEqual(
      warnings.map((warning) => warning.version),
      [WIRE_VERSION - 1, WIRE_VERSION + 1],
    );
    engine.receive(new Uint8Array([WIRE_VERSION, 99]));
    assert.equal(warnings.length, 3, "a malformed message of our own version is still reported");
  });
});

describe("entry keys of the document's map", () => {
  it("give back topic and member id whatever characters they hold, and refuse keys no owner writes", () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (topic, memberId) => {
        assert.deepEqual(parseEntryKey(entryKey(topic, memberId)), { topic, memberId });
      }),
    );
    for (const key of ["", "topic", ":x", "x:abc", "5:abc", "-1:abc", "1.5:abc"]) assert.equal(parseEntryKey(key), undefined, key);
  });
});
