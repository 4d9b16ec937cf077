import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Redis } from "ioredis";
import pino from "pino";
import { createRedisLongPollRelay } from "@switchboard/transport";
import type { RedisLongPollRelay } from "@switchboard/transport";
import { startRedis } from "../support/redis.ts";
import type { RedisProcess } from "../support/redis.ts";
import { startHarness, within } from "./harness.ts";
import type { Harness } from "./harness.ts";
import { startRoundRobinProxy, type RoundRobinProxy } from "../../tools/dev/proxy.ts";
import { pushResult, replyToEverything } from "./stock-client.ts";
import type { PhoenixModule, PhxSocket } from "./stock-client.ts";

interface Answer {
  status: number;
  token?: string;
  messages?: string[];
}

const WINDOW_MS = 300;
const NODES = ["node-a", "node-b", "node-c"];

interface Node {
  harness: Harness;
  relay: RedisLongPollRelay;
  redis: Redis;
  stopped: boolean;
}

async function startNode(nodeId: string, redisUrl: string, keyPrefix: string, echo: boolean): Promise<Node> {
  const redis = new Redis(redisUrl, { lazyConnect: false, maxRetriesPerRequest: 1 });
  const relay = createRedisLongPollRelay({ redis, nodeId, keyPrefix, logger: pino({ level: "silent" }) });
  await within(relay.ready, 5_000, `${nodeId} relay subscribed`);
  const harness = await startHarness({
    nodeId,
    longPoll: { windowMs: WINDOW_MS, sessionTimeoutMs: 3_000, maxBatchLines: 5, relay },
    ...(echo ? {} : { onConnection: replyToEverything }),
  });
  return { harness, relay, redis, stopped: false };
}

async function stopNode(node: Node): Promise<void> {
  if (node.stopped) return;
  node.stopped = true;
  await node.relay.close();
  await node.harness.stop();
  node.redis.disconnect();
}

async function startCluster(redis: RedisProcess, keyPrefix: string, echo: boolean): Promise<Node[]> {
  return Promise.all(NODES.map((nodeId) => startNode(nodeId, redis.url, keyPrefix, echo)));
}

describe("LongPoll across nodes (relay through Redis)", () => {
  let redis: RedisProcess;
  let nodes: Node[] = [];
  before(async () => {
    redis = await startRedis();
    nodes = await startCluster(redis, "relay-raw:", true);
  });
  after(async () => {
    for (const node of nodes) await stopNode(node);
    await redis?.stop();
  });

  const url = (node: number, token?: string) => `${nodes[node]!.harness.url}/socket/longpoll?vsn=2.0.0${token ? `&token=${encodeURIComponent(token)}` : ""}`;
  const get = async (node: number, token?: string, signal?: AbortSignal) => (await (await fetch(url(node, token), signal ? { signal } : {})).json()) as Answer;
  const post = async (node: number, token: string, body: string, type = "application/json") =>
    (await (await fetch(url(node, token), { method: "POST", body, headers: { "content-type": type } })).json()) as Answer;

  test("a session on node A is served by B and C as if local: POST, poll, 204, ndjson with binary, limits", async () => {
    const opened = await get(0);
    assert.equal(opened.status, 410);
    const token = opened.token!;
    const owner = await nodes[0]!.harness.connection(0);

    const frame = '["1","1","rooms:lobby","phx_join",{}]';
    assert.deepEqual(await post(1, token, frame), { status: 200 }, "POST via B");
    assert.deepEqual(await get(2, token), { messages: [frame], status: 200, token }, "poll via C gets A's echo");
    const started = Date.now();
    assert.deepEqual(await get(1, token), { status: 204, token }, "an idle relayed poll ends with 204");
    assert.ok(Date.now() - started >= WINDOW_MS - 20);

    const binary = Buffer.from([0, 1, 1, 1, 1, 0x31, 0x32, 0x74, 0x65, 0xff]);
    assert.deepEqual(await post(2, token, `[null,"9","phoenix","heartbeat",{}]\n${binary.toString("base64")}`, "application/x-ndjson"), { status: 200 });
    assert.deepEqual(owner.frames.slice(1), ['[null,"9","phoenix","heartbeat",{}]', binary], "the owner decoded the relayed batch with the session's vsn");
    const sixLines = Array.from({ length: 6 }, () => "[]").join("\n");
    assert.deepEqual(await post(1, token, sixLines, "application/x-ndjson"), { status: 413 });
    assert.deepEqual(await post(1, token, "[]\n%%%", "application/x-ndjson"), { status: 400 });
    assert.equal(nodes[1]!.harness.connections.length + nodes[2]!.harness.connections.length, 0, "B and C opened no session of their own");
  });

  test("a relayed poll whose client leaves is cancelled at the owner: no message is taken for nobody", async () => {
    const token = (await get(0)).token!;
    const owner = await nodes[0]!.harness.connection(nodes[0]!.harness.connections.length - 1);
    const controller = new AbortController();
    const abandoned = get(1, token, controller.signal).catch(() => "aborted");
    await new Promise((resolve) => setTimeout(resolve, 50));
    controller.abort();
    assert.equal(await abandoned, "aborted");
    await new Promise((resolve) => setTimeout(resolve, 100));
    owner.connection.write("kept");
    assert.deepEqual(await get(2, token), { messages: ["kept"], status: 200, token });
  });

  test("forged tokens and tokens naming an unknown node: GET → new session here, POST → 410", async () => {
    const token = (await get(0)).token!;
    const [version, , session, issued, mac] = token.split(".");
    const ghost = [version, Buffer.from("node-z").toString("base64url"), session, issued, mac].join(".");
    const before = nodes[1]!.harness.connections.length;
    const answer = await get(1, ghost);
    assert.equal(answer.status, 410);
    assert.notEqual(answer.token, undefined);
    assert.equal(nodes[1]!.harness.connections.length, before + 1, "B opened the new session");
    assert.deepEqual(await post(2, ghost, "[]"), { status: 410 });
  });

  test("owner gone: polls elsewhere get 410 and a new session, POSTs get 410, nothing crashes", async () => {
    const token = (await get(0)).token!;
    await stopNode(nodes[0]!);
    const answer = await within(get(1, token), 3_000, "poll after the owner died");
    assert.equal(answer.status, 410);
    assert.ok(answer.token && answer.token !== token);
    assert.deepEqual(await post(2, token, "[]"), { status: 410 });
    assert.equal((await get(2, answer.token)).status, 204, "the new session lives on B and is served via C");
  });
});

describe("stock phoenix 1.8 LongPoll client behind a round-robin proxy over 3 nodes", () => {
  let redis: RedisProcess;
  let nodes: Node[] = [];
  let proxy: RoundRobinProxy;
  const sockets: PhxSocket[] = [];
  before(async () => {
    redis = await startRedis();
    nodes = await startCluster(redis, "relay-stock:", false);
    proxy = await startRoundRobinProxy({ targets: nodes.map((node) => ({ host: "127.0.0.1", port: Number(new URL(node.harness.url).port) })), refuseUpgrades: true });
  });
  after(async () => {
    for (const socket of sockets) socket.disconnect();
    await proxy?.close();
    for (const node of nodes) await stopNode(node);
    await redis?.stop();
  });

  test("connects, joins and pushes with every request on another node; recovers when its owner dies", async () => {
    const phoenix = (await import("phoenix")) as unknown as PhoenixModule;
    const socket = new phoenix.Socket(`${proxy.url}/socket`, { transport: phoenix.LongPoll, reconnectAfterMs: () => 50, rejoinAfterMs: () => 50, logger: undefined });
    sockets.push(socket);
    let opens = 0;
    const reopened: Array<() => void> = [];
    socket.onOpen(() => {
      opens++;
      reopened.shift()?.();
    });
    const firstOpen = within(new Promise<void>((resolve) => reopened.push(resolve)), 5_000, "first open");
    socket.connect();
    await firstOpen;
    const channel = socket.channel("rooms:lobby", { user: "rr" });
    assert.deepEqual(await pushResult(channel.join()), { status: "ok", response: { user: "rr" } });
    for (let n = 0; n < 6; n++) assert.deepEqual(await pushResult(channel.push("echo", { n })), { status: "ok", response: { n } });
    const routed = proxy.routed();
    assert.ok(routed.reduce((a, b) => a + b, 0) >= 12);
    assert.ok(routed.every((count) => count >= 4), `every node served the session's requests in turn: ${routed}`);
    const owners = nodes.map((node) => node.harness.connections.length);
    assert.deepEqual(owners.filter((count) => count > 0).length, 1, "one session, owned by one node");

    const ownerIndex = owners.findIndex((count) => count > 0);
    const recovered = within(new Promise<void>((resolve) => reopened.push(resolve)), 10_000, "reopen after the owner died");
    proxy.remove(ownerIndex);
    await stopNode(nodes[ownerIndex]!);
    await recovered;
    assert.equal(opens, 2);
    // The stock client rejoins its channels by itself once the new session is open.
    assert.deepEqual(await pushResult(channel.push("echo", { after: true })), { status: "ok", response: { after: true } });
  });

  test("with WebSocket blocked by the proxy, longPollFallbackMs ends up connected over LongPoll", async () => {
    const phoenix = (await import("phoenix")) as unknown as PhoenixModule;
    const { default: WebSocket } = await import("ws");
    const socket = new phoenix.Socket(`${proxy.url.replace("http", "ws")}/socket`, {
      transport: WebSocket,
      longPollFallbackMs: 200,
      reconnectAfterMs: () => 50,
      logger: undefined,
    });
    sockets.push(socket);
    const longPollSessions = () => nodes.filter((node) => !node.stopped).reduce((sum, node) => sum + node.harness.transport.connectionCount().longpoll, 0);
    const sessionsBefore = longPollSessions();
    const opened = within(new Promise<void>((resolve) => socket.onOpen(resolve)), 5_000, "open after fallback");
    socket.connect();
    await opened;
    const channel = socket.channel("rooms:fallback", { user: "fb" });
    assert.deepEqual(await pushResult(channel.join()), { status: "ok", response: { user: "fb" } });
    assert.equal(longPollSessions(), sessionsBefore + 1, "the connection is a new LongPoll session");
  });
});
