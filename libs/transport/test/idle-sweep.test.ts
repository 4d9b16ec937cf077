import assert from "node:assert/strict";
import { test } from "node:test";
import pino from "pino";
import { CloseCode, serializerForVsn } from "@switchboard/protocol";
import type { Frame } from "@switchboard/protocol";
import { BaseConnection } from "../src/connection.ts";
import type { ConnectionHost } from "../src/connection.ts";
import { sweepIdleConnections } from "../src/idle-sweep.ts";
import { IDLE_CHECKS_PER_TIMEOUT } from "../src/limits.ts";
import type { TransportKind } from "../src/types.ts";

const IDLE_TIMEOUT_MS = 160;
/** Timers on a busy machine fire late; the bounds below allow this much on top. */
const SCHEDULING_SLACK_MS = 250;

/** A carrier that records its shut calls and ends only when told (as a closing engine.io socket does). */
class RecordingConnection extends BaseConnection {
  readonly shuts: number[] = [];
  constructor(id: string, host: ConnectionHost) {
    super(id, { serializer: serializerForVsn("2.0.0", { binary: true })!, params: {}, remoteAddress: "127.0.0.1" }, host);
  }
  get transport(): TransportKind {
    return "websocket";
  }
  get bufferedBytes(): number {
    return 0;
  }
  protected send(_frame: Frame): void {}
  protected shut(code: number): void {
    this.shuts.push(code);
  }
  finish(): void {
    this.end(this.shuts[0], "", "test");
  }
}

function sweptConnections(ids: string[]) {
  const connections = new Map<string, RecordingConnection>();
  const host: ConnectionHost = { sendQueueBytes: 1024, logger: pino({ level: "silent" }), ended: (connection) => connections.delete(connection.id) };
  for (const id of ids) connections.set(id, new RecordingConnection(id, host));
  return { connections, stop: sweepIdleConnections(connections, IDLE_TIMEOUT_MS) };
}

test("a silent connection is closed with IDLE_TIMEOUT after one timeout and at most one check interval more, a talking one stays", async () => {
  const { connections, stop } = sweptConnections(["silent", "talking"]);
  const [silent, talking] = [connections.get("silent")!, connections.get("talking")!];
  const started = Date.now();
  let closedAfter = -1;
  silent.on("close", () => (closedAfter = Date.now() - started));
  const talk = setInterval(() => talking.receive("hb"), IDLE_TIMEOUT_MS / 3);
  try {
    while (silent.shuts.length === 0 && Date.now() - started < IDLE_TIMEOUT_MS * 4) await new Promise((resolve) => setTimeout(resolve, 5));
    assert.deepEqual(silent.shuts, [CloseCode.IDLE_TIMEOUT]);
    silent.finish();
    assert.ok(closedAfter >= IDLE_TIMEOUT_MS, `closed after ${closedAfter} ms, before the timeout`);
    assert.ok(closedAfter <= IDLE_TIMEOUT_MS * (1 + 1 / IDLE_CHECKS_PER_TIMEOUT) + SCHEDULING_SLACK_MS, `closed after ${closedAfter} ms`);
    await new Promise((resolve) => setTimeout(resolve, IDLE_TIMEOUT_MS * 2));
    assert.deepEqual(talking.shuts, [], "a connection receiving frames is not idle");
  } finally {
    clearInterval(talk);
    stop();
  }
});

test("an idle connection whose carrier is still closing is shut once, and leaves the sweep when it ended", async () => {
  const { connections, stop } = sweptConnections(["closing"]);
  const closing = connections.get("closing")!;
  try {
    await new Promise((resolve) => setTimeout(resolve, IDLE_TIMEOUT_MS * 3));
    assert.deepEqual(closing.shuts, [CloseCode.IDLE_TIMEOUT], "further checks do not shut it again");
    closing.finish();
    assert.equal(connections.size, 0);
  } finally {
    stop();
  }
});
