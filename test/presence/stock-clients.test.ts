import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import * as phoenix from "phoenix";
import WebSocket from "ws";
import type { PhoenixModule, PhxChannel } from "../clients/scenario.ts";
import { pushResult } from "../clients/scenario.ts";
import { eventually, startGateway, type GatewayProcess } from "../support/gateway.ts";
import { startRedis, type RedisProcess } from "../support/redis.ts";

const client = phoenix as unknown as PhoenixModule;
/** The target for a SIGKILLed node's users to leave every other client. */
const DEAD_NODE_TARGET_MS = 5_000;

interface Member {
  name: string;
  gateway: GatewayProcess;
  socket: { disconnect(): void };
  channel: PhxChannel;
  /** user → number of metas, as this client's stock `Presence` shows it. */
  seen(): Record<string, number>;
}

describe("presence through three gateway processes and stock phoenix.js clients", () => {
  let redis: RedisProcess;
  let gateways: GatewayProcess[] = [];
  const members: Member[] = [];

  before(async () => {
    redis = await startRedis();
    // One after the other: three processes compiling at once can miss the health deadline on two cores.
    for (let index = 0; index < 3; index += 1) gateways.push(await startGateway({ redisUrl: redis.url, nodeId: `presence-${index}` }));
  });
  after(async () => {
    for (const member of members) member.socket.disconnect();
    await Promise.all(gateways.map((gateway) => gateway.stop()));
    await redis.stop();
  });

  async function join(name: string, gateway: GatewayProcess, user: string): Promise<Member> {
    const socket = new client.Socket(`${gateway.wsUrl}/socket`, {
      transport: WebSocket,
      reconnectAfterMs: () => 200,
      rejoinAfterMs: () => 200,
    });
    socket.connect();
    const channel = socket.channel("rooms:presence", { user });
    const presence = new client.Presence(channel);
    let seen: Record<string, number> = {};
    presence.onSync(() => {
      seen = Object.fromEntries(presence.list((key, { metas }) => [key, metas.length] as const));
    });
    assert.equal((await pushResult(channel.join())).status, "ok");
    const member: Member = { name, gateway, socket, channel, seen: () => seen };
    members.push(member);
    return member;
  }

  const everyoneSees = (expected: Record<string, number>, among = members) =>
    among.every((member) => JSON.stringify(sortKeys(member.seen())) === JSON.stringify(sortKeys(expected)));

  it("every client on every node ends with the same list, a two-tab user with two metas", async () => {
    await join("a1", gateways[0]!, "alice");
    await join("b1", gateways[1]!, "bob");
    await join("c1", gateways[2]!, "carol");
    await join("a2", gateways[2]!, "alice");
    const expected = { alice: 2, bob: 1, carol: 1 };
    await eventually(() => everyoneSees(expected), `every client to list ${JSON.stringify(expected)}: ${describeSeen(members)}`);

    const bob = members.find((member) => member.name === "b1")!;
    assert.equal((await pushResult(bob.channel.leave())).status, "ok");
    members.splice(members.indexOf(bob), 1);
    bob.socket.disconnect();
    await eventually(() => everyoneSees({ alice: 2, carol: 1 }), `bob's leave to reach every client: ${describeSeen(members)}`);
  });

  it("a gateway started later shows its clients the full list", async () => {
    gateways.push(await startGateway({ redisUrl: redis.url, nodeId: "presence-late" }));
    await join("e1", gateways[3]!, "erin");
    await eventually(() => everyoneSees({ alice: 2, carol: 1, erin: 1 }), `erin and everyone else to agree: ${describeSeen(members)}`);
  });

  it("every client converges again after a Redis restart, with a leave made while Redis was down", async () => {
    const restarted = redis.restart(1_000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const erin = members.find((member) => member.name === "e1")!;
    members.splice(members.indexOf(erin), 1);
    erin.socket.disconnect();
    await restarted;
    await eventually(() => everyoneSees({ alice: 2, carol: 1 }), `erin's leave to reach every client after the restart: ${describeSeen(members)}`, 15_000);
    await join("e2", gateways[3]!, "erin");
    await eventually(() => everyoneSees({ alice: 2, carol: 1, erin: 1 }), `a join after the restart to reach every client: ${describeSeen(members)}`, 10_000);
  });

  it("a SIGKILLed gateway's users leave every other client within the target", async () => {
    await join("d1", gateways[1]!, "dave");
    await eventually(() => everyoneSees({ alice: 2, carol: 1, dave: 1, erin: 1 }), `dave to arrive: ${describeSeen(members)}`);
    const victim = gateways[2]!;
    const killedAt = Date.now();
    victim.kill("SIGKILL");
    const onVictim = members.filter((member) => member.gateway === victim);
    for (const member of onVictim) {
      member.socket.disconnect();
      members.splice(members.indexOf(member), 1);
    }
    await eventually(() => everyoneSees({ alice: 1, dave: 1, erin: 1 }), `the dead node's users to leave: ${describeSeen(members)}`, DEAD_NODE_TARGET_MS);
    process.stdout.write(`# clients saw the dead gateway's users leave after ${Date.now() - killedAt} ms\n`);
  });
});

function sortKeys(record: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : 1)));
}

function describeSeen(members: Array<{ name: string; seen(): Record<string, number> }>): string {
  return members.map((member) => `${member.name}=${JSON.stringify(sortKeys(member.seen()))}`).join(" ");
}
