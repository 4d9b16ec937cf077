import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { Socket } from "node:net";
import type { Redis } from "ioredis";
import { pino } from "pino";
import { connectRedis } from "../../apps/gateway/src/redis.ts";
import { startRedis, type RedisProcess } from "../support/redis.ts";

/** Busy-waits inside Redis for about this long: an answer that comes late. */
const SLOW_SCRIPT = `local t0 = redis.call("TIME") repeat local t = redis.call("TIME") until (t[1] - t0[1]) * 1000000 + t[2] - t0[2] > tonumber(ARGV[1]) return 1`;
const SLOW_MICROS = 300_000;

let redis: RedisProcess;
let connection: Redis;

before(async () => {
  redis = await startRedis();
  connection = connectRedis(redis.url, pino({ level: "silent" }));
  await new Promise((resolve) => connection.once("ready", resolve));
});

after(async () => {
  connection.disconnect();
  await redis.stop();
});

/** Counts the writes (syscall batches) the connection's socket makes from now on. */
function countWrites(socket: Socket): { readonly count: number } {
  const counter = { count: 0 };
  const stream = socket as Socket & { _writev?: (...args: unknown[]) => void; _write: (...args: unknown[]) => void };
  const write = stream._write;
  const writev = stream._writev;
  stream._write = function (...args) {
    counter.count += 1;
    return write.apply(this, args);
  };
  if (writev) {
    stream._writev = function (...args) {
      counter.count += 1;
      return writev.apply(this, args);
    };
  }
  return counter;
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

test("the commands of one event-loop turn leave in one write, answered in order", async () => {
  const writes = countWrites(connection.stream as Socket);
  const answers = Array.from({ length: 50 }, (_, i) => connection.set(`key:${i}`, String(i)).then(() => connection.get(`key:${i}`)));
  await turn();
  assert.equal(writes.count, 1);
  assert.deepEqual(await Promise.all(answers), Array.from({ length: 50 }, (_, i) => String(i)));
});

test("a turn's commands go out while an earlier turn's are still unanswered", async () => {
  const writes = countWrites(connection.stream as Socket);
  const slow = connection.eval(SLOW_SCRIPT, 0, SLOW_MICROS);
  await turn();
  const next = connection.incr("counter");
  await turn();
  // ioredis's auto-pipelining held the second batch until the first was answered: in a join
  // burst those commands and their pipelines outlived scavenges and filled old space.
  assert.equal(writes.count, 2);
  assert.equal(await slow, 1);
  assert.equal(await next, 1);
});
