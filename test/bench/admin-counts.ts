/**
 * What the admin channel's member counting costs per join (run by hand, under the bench lock):
 *
 *   npx tsx test/bench/admin-counts.ts [--joins 20000] [--rounds 5]
 *
 * The gateway's admin bookkeeping on its own turn-corked Redis connection against a private
 * Redis: `--joins` joins to distinct topics, JOINS_PER_TURN per event-loop turn (as join
 * admission starts them in a burst), no admin client listening. CPU per join of this process
 * (the node's side: commands, answers, promises) and of Redis (`INFO cpu`), per round.
 */
import { EventEmitter } from "node:events";
import { parseArgs } from "node:util";
import { pino } from "pino";
import { createTokenVerifier } from "@switchboard/auth";
import { JOINS_PER_TURN } from "@switchboard/channels";
import { createAdmin, type AdminCluster } from "../../apps/gateway/src/channels/admin.ts";
import { connectRedis } from "../../apps/gateway/src/redis.ts";
import { startRedis } from "../support/redis.ts";
import { TEST_SECRET } from "../support/gateway.ts";

const { values: flags } = parseArgs({ options: { joins: { type: "string", default: "20000" }, rounds: { type: "string", default: "5" } } });
const JOINS = Number(flags.joins);
const ROUNDS = Number(flags.rounds);
const KEY_PREFIX = "bench:";

const redisProcess = await startRedis();
const logger = pino({ level: "silent" });
const redis = connectRedis(redisProcess.url, logger);
const cluster: AdminCluster = { broadcast: async () => true, nodes: async () => [], topics: async () => [], on: (event, listener) => new EventEmitter().on(event, listener) };
const admin = createAdmin({ verifier: createTokenVerifier({ secret: TEST_SECRET, algorithms: ["HS256"] }), redis, cluster, nodeId: "bench", keyPrefix: KEY_PREFIX, logger });

const ownCpu = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
};
const redisCpu = async () => {
  const info = await redis.info("cpu");
  const seconds = (field: string) => Number(new RegExp(`${field}:([\\d.]+)`).exec(info)?.[1] ?? Number.NaN);
  return seconds("used_cpu_user") + seconds("used_cpu_sys");
};
const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

try {
  const rounds: string[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const topic = (join: number) => `bench-admin:${round}:${join}`;
    const [redisBefore, ownBefore] = [await redisCpu(), ownCpu()];
    for (let join = 0; join < JOINS; join++) {
      admin.events.joined!(topic(join), `socket-${join}`);
      if (join % JOINS_PER_TURN === JOINS_PER_TURN - 1) await nextTurn();
    }
    while ((await redis.hget(`${KEY_PREFIX}admin:members`, topic(JOINS - 1))) === null) await nextTurn();
    const own = ownCpu() - ownBefore;
    const ofRedis = (await redisCpu()) - redisBefore;
    rounds.push(`node ${((own / JOINS) * 1e6).toFixed(1)} µs, Redis ${((ofRedis / JOINS) * 1e6).toFixed(1)} µs`);
  }
  process.stdout.write(`per join, by round: ${rounds.join(" | ")}\n`);
} finally {
  redis.disconnect();
  await redisProcess.stop();
}
