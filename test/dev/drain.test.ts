import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { after, before, describe, test } from "node:test";
import { trackLastSeen, type MessageHook } from "@switchboard/history/client";
import * as phoenix from "phoenix";
import WebSocket from "ws";
import { launchCluster, type DevCluster } from "../../tools/dev/cluster.ts";
import { portsFree } from "../../tools/dev/net.ts";
import { startRoundRobinProxy, type RoundRobinProxy } from "../../tools/dev/proxy.ts";
import { startRedis, type RedisProcess } from "../support/redis.ts";

/**
 * A rolling restart as Kubernetes does it, behind the dev proxy: stock phoenix.js clients spread
 * over three gateways while messages flow; SIGTERM to one gateway closes its clients with 1012
 * spread over the drain window, they reconnect through the proxy to the others and rejoin, the
 * drained process exits 0 inside the window, and the survivors' metrics count the newcomers.
 * The topic has recovery on: every client gets every message exactly once, those sent while it
 * was reconnecting replayed on its rejoin.
 */

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const GATEWAYS = 3;
const CLIENTS = 9;
const DRAIN_WINDOW_MS = 3_000;
/** Redis cleanup and process exit after the last close. */
const EXIT_MARGIN_MS = 3_000;
const PORT_RANGE = { from: 32_100, to: 32_700 } as const;
const STEP_TIMEOUT_MS = 15_000;
const TOPIC = "rooms:drain";

interface PhxPush {
  receive(status: string, callback: (response: unknown) => void): PhxPush;
}
interface PhxChannel extends MessageHook {
  join(): PhxPush;
  push(event: string, payload: unknown): PhxPush;
  on(event: string, callback: (payload: unknown) => void): number;
  state: string;
}
interface PhxSocket {
  connect(): void;
  disconnect(): void;
  channel(topic: string, params: () => Record<string, unknown>): PhxChannel;
  onClose(callback: (event: { code: number }) => void): string;
}
const Socket = (phoenix as unknown as { Socket: new (endPoint: string, opts: Record<string, unknown>) => PhxSocket }).Socket;

interface Client {
  socket: PhxSocket;
  channel: PhxChannel;
  closes: Array<{ code: number; at: number }>;
  /** Sequence numbers in arrival order, duplicates kept. */
  received: number[];
}

async function until(check: () => boolean, what: string, timeoutMs = STEP_TIMEOUT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    assert.ok(Date.now() < deadline, `timed out: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(STEP_TIMEOUT_MS) })).text();
  return text
    .split("\n")
    .filter((line) => line.startsWith(name) && /^[\w]+(\{[^}]*\})? /.test(line) && line.split(/[{ ]/)[0] === name)
    .reduce((sum, line) => sum + Number(line.split(" ").at(-1)), 0);
}

const skip = existsSync(`${ROOT}/apps/gateway/src/main.ts`) ? false : "apps/gateway/src/main.ts does not exist yet";

describe("draining one gateway behind the dev proxy", { skip, timeout: 120_000 }, () => {
  let redis: RedisProcess;
  let cluster: DevCluster;
  let proxy: RoundRobinProxy;
  const clients: Client[] = [];

  before(async () => {
    redis = await startRedis();
    let firstPort = 0;
    while (!firstPort) {
      const candidate = PORT_RANGE.from + Math.floor(Math.random() * (PORT_RANGE.to - PORT_RANGE.from));
      if (await portsFree(candidate, GATEWAYS + 1)) firstPort = candidate;
    }
    cluster = launchCluster({
      root: ROOT,
      gateways: GATEWAYS,
      firstPort,
      redisUrl: redis.url,
      watch: false,
      env: {
        DRAIN_WINDOW_MS: String(DRAIN_WINDOW_MS),
        RECOVERY_PATTERNS: TOPIC,
        LOG_LEVEL: "warn",
        JWT_SECRET: "drain-test-secret-0123456789abcdef",
      },
      onLine: () => undefined,
    });
    await cluster.ready();
    proxy = await startRoundRobinProxy({ targets: cluster.gateways.map((node) => ({ host: "127.0.0.1", port: node.port })) });
  });

  after(async () => {
    for (const client of clients) client.socket.disconnect();
    await proxy?.close();
    await cluster?.stop();
    await redis?.stop();
  });

  test("clients of the drained node get 1012 over the window, rejoin elsewhere, and traffic reaches everyone", async () => {
    for (let index = 0; index < CLIENTS; index++) {
      const socket = new Socket(`${proxy.url.replace("http", "ws")}/socket`, {
        transport: WebSocket,
        reconnectAfterMs: () => 100,
        rejoinAfterMs: () => 100,
      });
      // Rejoins ask for what came after the last message seen (the helper browsers use).
      const recovery = trackLastSeen({ user: `u${index}` });
      const channel = recovery.attach(socket.channel(TOPIC, recovery.params));
      const client: Client = { socket, channel, closes: [], received: [] };
      socket.onClose((event) => client.closes.push({ code: event.code, at: Date.now() }));
      client.channel.on("new_msg", (payload) => client.received.push((payload as { seq: number }).seq));
      socket.connect();
      client.channel.join();
      clients.push(client);
      // One connection at a time, so the proxy deals them out evenly: 3 per node.
      await until(() => client.channel.state === "joined", `client ${index} joined`);
    }
    const onDrained = proxy.routed()[1] ?? 0;
    assert.equal(onDrained, CLIENTS / GATEWAYS, "the proxy dealt the clients out evenly");
    const survivors = [cluster.gateways[0], cluster.gateways[2]].map((node) => node?.url ?? "");
    const joinsBefore = await Promise.all(survivors.map((url) => metric(url, "switchboard_joins_total")));

    // Messages keep flowing from a client that stays put while the node drains.
    const publisher = clients[0] as Client;
    let seq = 0;
    const traffic = setInterval(() => publisher.channel.push("new_msg", { seq: seq++ }), 50);
    try {
      // A client that has seen nothing has no last_seen to recover from: let everyone see one.
      await until(() => clients.every((client) => client.received.length > 0), "traffic reached every client");
      const started = Date.now();
      const drained = cluster.stopNode("gateway-2", "SIGTERM");
      const exit = await drained;
      const tookMs = Date.now() - started;
      assert.equal(exit.code, 0, `gateway-2 exited ${exit.code ?? exit.signal}`);
      assert.ok(tookMs < DRAIN_WINDOW_MS + EXIT_MARGIN_MS, `drained in ${tookMs} ms`);

      const restarted = clients.filter((client) => client.closes.some((close) => close.code === 1012));
      assert.equal(restarted.length, onDrained, "exactly the drained node's clients were told 1012");
      const closeTimes = restarted.map((client) => client.closes[0]?.at ?? 0).sort((a, b) => a - b);
      const spreadMs = (closeTimes.at(-1) ?? 0) - (closeTimes[0] ?? 0);
      assert.ok(spreadMs >= DRAIN_WINDOW_MS / 3, `closes spread over ${spreadMs} ms, not all at once`);
      // A reconnect the proxy hands to the draining node is refused and retried; that is the
      // drained clients' business. The others must not notice anything.
      const untouched = clients.filter((client) => !restarted.includes(client));
      assert.deepEqual(untouched.map((client) => client.closes), untouched.map(() => []), "nobody else was disconnected");

      await until(() => clients.every((client) => client.channel.state === "joined"), "every client rejoined");
    } finally {
      clearInterval(traffic);
    }

    // After the rejoin every client, wherever it landed, gets what is published next.
    const marker = 1_000_000;
    publisher.channel.push("new_msg", { seq: marker });
    await until(() => clients.every((client) => client.received.includes(marker)), "the next message reached all clients");
    const sent = [...Array.from({ length: seq }, (_, index) => index), marker];
    for (const [index, client] of clients.entries()) {
      assert.deepEqual(client.received, sent, `client ${index} (closes ${client.closes.map((close) => close.code).join(",")}) got every message once, in order`);
    }

    const joinsAfter = await Promise.all(survivors.map((url) => metric(url, "switchboard_joins_total")));
    const newJoins = joinsAfter.reduce((sum, value) => sum + value, 0) - joinsBefore.reduce((sum, value) => sum + value, 0);
    assert.ok(newJoins >= onDrained, `the survivors counted the ${onDrained} rejoins (${newJoins})`);
    assert.ok((await metric(survivors[0] ?? "", "switchboard_deliveries_total")) > 0, "deliveries are counted");
  });
});
