import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Redis } from "ioredis";
import { MessageType } from "socket.io-adapter";
import { publishCommands } from "../../libs/cluster/src/publish-command.ts";
import { stallEventLoop } from "../support/event-loop.ts";
import { startRedis, type RedisProcess } from "../support/redis.ts";

const EVENT_PACKET = 2;
const channelOf = (room: string) => `test:cluster#/#${room}#`;

interface Answer {
  receivers: number | undefined;
  error: Error | undefined;
  /** Answered before `sendCommand` returned. */
  synchronous: boolean;
}

/**
 * The prebuilt SPUBLISH answers a callback instead of a promise and shares one timeout timer per
 * tick: these are the answers ioredis's own command would give, on a real connection.
 */
describe("prebuilt SPUBLISH on a real connection", () => {
  let redis: RedisProcess;
  const connections: Redis[] = [];

  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    for (const connection of connections) connection.disconnect();
    await redis.stop();
  });

  async function connect(options: { commandTimeout?: number } = {}): Promise<Redis> {
    const connection = new Redis(redis.url, { maxRetriesPerRequest: 1, ...options });
    connections.push(connection);
    await connection.ping();
    return connection;
  }

  /** Sends `count` prebuilt publishes to `room` in one tick; resolves with their answers once all have come. */
  function publish(connection: Redis, room: string, count: number): Promise<Answer[]> {
    const commands = publishCommands("uid", "/", MessageType.BROADCAST, channelOf);
    return new Promise((resolve) => {
      const answers: Answer[] = [];
      let sending = true;
      for (let index = 0; index < count; index++) {
        const command = commands.build(EVENT_PACKET, ["j", "topic", "evt", Buffer.from(`[${index}]`)], room, undefined, (receivers, error) => {
          answers.push({ receivers, error, synchronous: sending });
          if (answers.length === count) resolve(answers);
        });
        assert.ok(command);
        void connection.sendCommand(command);
      }
      sending = false;
    });
  }

  it("answers each publish once with the number of subscriptions that received it", async () => {
    const connection = await connect({ commandTimeout: 1_000 });
    const subscriber = await connect();
    const received: string[] = [];
    subscriber.on("smessageBuffer", (channel: Buffer) => received.push(channel.toString()));
    await subscriber.ssubscribe(channelOf("t:watched"));

    assert.deepEqual(await publish(connection, "t:watched", 3), Array(3).fill({ receivers: 1, error: undefined, synchronous: false }));
    assert.deepEqual(await publish(connection, "t:nobody", 2), Array(2).fill({ receivers: 0, error: undefined, synchronous: false }));
    await connection.ping();
    assert.deepEqual(received, Array(3).fill(channelOf("t:watched")));
  });

  it("a publish Redis does not answer within commandTimeout fails as ioredis's own commands do, each once, even if the answer comes later", async () => {
    const connection = await connect({ commandTimeout: 200 });
    const control = await connect();
    const pauseMs = 800;
    await control.call("CLIENT", "PAUSE", String(pauseMs), "ALL");
    const startedAt = performance.now();
    const answers = await publish(connection, "t:paused", 4);
    const waited = performance.now() - startedAt;
    assert.ok(waited >= 190 && waited < 700, `timed out after ${waited.toFixed(0)} ms`);
    for (const answer of answers) {
      assert.equal(answer.receivers, undefined);
      assert.equal(answer.error?.message, "Command timed out");
    }
    // Redis runs them once the pause ends; their late answers change nothing.
    await new Promise((resolve) => setTimeout(resolve, pauseMs + 100 - waited));
    const late = await publish(connection, "t:after-pause", 1);
    assert.deepEqual(late, [{ receivers: 0, error: undefined, synchronous: false }]);
    assert.equal(answers.length, 4, "no second answer for a publish that timed out");
  });

  it("a publish answered while this process stalled past its deadline gets its answer, not a timeout (the forwarder would publish it again)", async () => {
    const connection = await connect({ commandTimeout: 200 });
    const answered = publish(connection, "t:stalled", 4);
    // Redis answers within a millisecond; this process reads the answers only after the stall,
    // when the deadline's timer is due as well.
    stallEventLoop(400);
    assert.deepEqual(await answered, Array(4).fill({ receivers: 0, error: undefined, synchronous: false }));
  });

  it("a publish on a closed connection fails, answered after sendCommand returned", async () => {
    const connection = await connect({ commandTimeout: 1_000 });
    connection.disconnect();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const [answer] = await publish(connection, "t:closed", 1);
    assert.equal(answer!.receivers, undefined);
    assert.ok(answer!.error instanceof Error);
    assert.equal(answer!.synchronous, false);
  });
});
