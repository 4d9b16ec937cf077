import assert from "node:assert/strict";
import { EventEmitter, errorMonitor } from "node:events";
import { test } from "node:test";
import { compactListenerTable } from "../src/listener-table.ts";

test("an emitter with a compacted listener table keeps its listeners, their order, and adds and removes as before", () => {
  const calls: string[] = [];
  const first = (value: number) => calls.push(`first ${value}`);
  const listening = () => {
    const emitter = new EventEmitter();
    emitter.on("message", first);
    emitter.on("message", (value: number) => calls.push(`second ${value}`));
    emitter.on("close", () => calls.push("close"));
    emitter.on(errorMonitor, () => calls.push("monitor"));
    emitter.on("error", () => calls.push("error"));
    return emitter;
  };
  const emitter = listening();
  compactListenerTable(emitter);

  assert.equal(Object.getPrototypeOf((emitter as unknown as { _events: object })._events), null, "no inherited names (toString, constructor) can pass for events");
  assert.deepEqual(emitter.eventNames(), listening().eventNames());
  assert.equal(emitter.emit("message", 1), true);
  assert.equal(emitter.emit("toString"), false);
  emitter.emit("error", new Error("boom"));
  emitter.once("close", () => calls.push("close once"));
  emitter.emit("close");
  emitter.emit("close");
  emitter.removeListener("message", first);
  emitter.emit("message", 2);
  assert.deepEqual(calls, ["first 1", "second 1", "monitor", "error", "close", "close once", "close", "second 2"]);
});
