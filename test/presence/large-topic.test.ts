import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import * as phoenix from "phoenix";
import WebSocket from "ws";
import type { PhoenixModule, PhxChannel } from "../clients/scenario.ts";
import { pushResult } from "../clients/scenario.ts";
import { eventually, startGateway, type GatewayProcess } from "../support/gateway.ts";
import { startRedis, type RedisProcess } from "../support/redis.ts";

const client = phoenix as unknown as PhoenixModule;
const CLIENTS_PER_NODE = 40;
const TOPIC = "rooms:large";
/** The lib's defaults, which the gateway runs with (libs/presence/src/limits.ts). */
const BATCHED_DIFF_MIN_ENTRIES = 16;
const DIFF_BATCH_WINDOW_MS = 100;
const CONVERGE_MS = 20_000;

interface Member {
  user: string;
  socket: { disconnect(): void };
  channel: PhxChannel;
  /** user → sorted phx_refs, as this client's stock `Presence` shows it. */
  seen(): Record<string, string[]>;
  diffs: number;
}

/**
 * Everyone joins one topic at once, over two gateway processes, with stock phoenix.js clients:
 * each join would otherwise send a `presence_diff` to every member (O(n²) frames); a large
 * topic's members get at most one diff per batch window, and every client's list still ends
 * identical to the others' and to the truth.
 */
describe("presence of a large topic: one diff per batch window, every client right", () => {
  let redis: RedisProcess;
  const gateways: GatewayProcess[] = [];
  const members: Member[] = [];

  before(async () => {
    redis = await startRedis();
    for (let index = 0; index < 2; index += 1) gateways.push(await startGateway({ redisUrl: redis.url, nodeId: `large-${index}` }));
  });
  after(async () => {
    for (const member of members) member.socket.disconnect();
    await Promise.all(gateways.map((gateway) => gateway.stop()));
    await redis.stop();
  });

  async function connect(gateway: GatewayProcess, user: string): Promise<Member> {
    const socket = new client.Socket(`${gateway.wsUrl}/socket`, { transport: WebSocket, reconnectAfterMs: () => 200 });
    await new Promise<void>((resolve) => {
      socket.onOpen(() => resolve());
      socket.connect();
    });
    const channel = socket.channel(TOPIC, { user });
    const presence = new client.Presence(channel);
    let seen: Record<string, string[]> = {};
    presence.onSync(() => {
      seen = Object.fromEntries(presence.list((key, { metas }) => [key, metas.map((meta) => String(meta.phx_ref)).sort()] as const));
    });
    const member: Member = { user, socket, channel, seen: () => seen, diffs: 0 };
    channel.on("presence_diff", () => (member.diffs += 1));
    return member;
  }

  /** Every client shows the same refs, under exactly `users`, one meta each. */
  function agreed(among: Member[], users: string[]): boolean {
    const first = JSON.stringify(sortKeys(among[0]!.seen()));
    return among.every((member) => {
      const seen = member.seen();
      return JSON.stringify(sortKeys(seen)) === first && Object.keys(seen).length === users.length && users.every((user) => seen[user]?.length === 1);
    });
  }

  /** A client gets at most one diff per window from its node, plus one per change while the topic was small. */
  function assertBatched(among: Member[], elapsedMs: number, changes: number): void {
    const bound = Math.ceil(elapsedMs / DIFF_BATCH_WINDOW_MS) + 1 + BATCHED_DIFF_MIN_ENTRIES;
    const total = among.reduce((sum, member) => sum + member.diffs, 0);
    const most = Math.max(...among.map((member) => member.diffs));
    process.stdout.write(`# ${changes} changes in ${elapsedMs} ms: ${total} presence_diff frames to ${among.length} clients, at most ${most} each (bound ${bound})\n`);
    assert.ok(most <= bound, `a client got ${most} diffs in ${elapsedMs} ms, more than one per window (${bound})`);
    assert.ok(total < (changes * among.length) / 4, `${total} diff frames for ${changes} changes to ${among.length} clients`);
  }

  it("a burst of joins reaches every client as a few diffs, and every list is complete", async () => {
    for (let index = 0; index < CLIENTS_PER_NODE * 2; index += 1) members.push(await connect(gateways[index % 2]!, `user${index}`));
    const started = Date.now();
    const replies = await Promise.all(members.map((member) => pushResult(member.channel.join())));
    assert.ok(replies.every((reply) => reply.status === "ok"));
    const users = members.map((member) => member.user);
    await eventually(() => agreed(members, users), "every client to list every member", CONVERGE_MS);
    assertBatched(members, Date.now() - started, members.length);
  });

  it("a burst of leaves as well, and a client joining afterwards gets the same list", async () => {
    for (const member of members) member.diffs = 0;
    const leaving = members.splice(0, CLIENTS_PER_NODE);
    const started = Date.now();
    await Promise.all(leaving.map((member) => pushResult(member.channel.leave())));
    for (const member of leaving) member.socket.disconnect();
    const users = members.map((member) => member.user);
    await eventually(() => agreed(members, users), "the leaves to reach every client", CONVERGE_MS);
    assertBatched(members, Date.now() - started, leaving.length);

    const late = await connect(gateways[0]!, "late");
    assert.equal((await pushResult(late.channel.join())).status, "ok");
    members.push(late);
    await eventually(() => agreed(members, [...users, "late"]), "the late joiner and everyone else to agree", CONVERGE_MS);
  });
});

function sortKeys<T>(record: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : 1)));
}
