/**
 * What presence costs per join in process, without Redis or sockets (run by hand):
 *
 *   node --expose-gc --import tsx test/bench/presence-join.ts [--joins 10000] [--per-flush 100] [--rounds 12]
 *
 * An owner engine tracks `--joins` one-member topics (as the bench's join-rate scenario makes
 * them), `--per-flush` per flush tick; a second engine, with no members of them (as the other
 * node), receives every flush. CPU time per join of the owner's `track` (its own diff included),
 * `list`, `flush` (the Yjs transaction and encode) and the replica's `receive` (Yjs apply and
 * mirror); the minimum over rounds, as other processes on the machine only add to it. Then the
 * heap each engine holds per entry after full GCs.
 */
import { parseArgs } from "node:util";
import { pino } from "pino";
import { PresenceEngine, type EngineOptions } from "../../libs/presence/src/engine.ts";

const { values: flags } = parseArgs({ options: { joins: { type: "string", default: "10000" }, "per-flush": { type: "string", default: "100" }, rounds: { type: "string", default: "12" } } });
const JOINS = Number(flags.joins);
const PER_FLUSH = Number(flags["per-flush"]);
const ROUNDS = Number(flags.rounds);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error("run with --expose-gc");

const logger = pino({ level: "silent" });
const engine = (incarnation: string, hasMembers: (topic: string) => boolean) =>
  new PresenceEngine({ incarnation, logger, onDiff: () => {}, onDirty: () => {}, onBatch: () => {}, hasMembers } satisfies EngineOptions);
const topicOf = (round: number, join: number) => `bench-join-rate:${round}:${join}`;
const track = (owner: PresenceEngine, round: number, join: number) =>
  owner.track(topicOf(round, join), `socket-${join % 1_000}`, `user-${join % 1_000}`, { online_at: "1763900000" });
const cpuMicros = () => {
  const { user, system } = process.cpuUsage();
  return user + system;
};

const phases = ["track", "list", "flush", "receive"] as const;
const best = Object.fromEntries(phases.map((phase) => [phase, Number.POSITIVE_INFINITY])) as Record<(typeof phases)[number], number>;
let bytesPerJoin = 0;
for (let round = 0; round < ROUNDS; round += 1) {
  const owner = engine(`owner-${round}`, () => true);
  const replica = engine(`replica-${round}`, () => false);
  replica.receive(owner.heartbeat());
  const spent = { track: 0, list: 0, flush: 0, receive: 0 };
  let bytes = 0;
  for (let first = 0; first < JOINS; first += PER_FLUSH) {
    const last = Math.min(JOINS, first + PER_FLUSH);
    let start = cpuMicros();
    for (let join = first; join < last; join += 1) track(owner, round, join);
    spent.track += cpuMicros() - start;
    start = cpuMicros();
    for (let join = first; join < last; join += 1) owner.list(topicOf(round, join));
    spent.list += cpuMicros() - start;
    start = cpuMicros();
    const message = owner.flush();
    spent.flush += cpuMicros() - start;
    if (!message) continue;
    bytes += message.byteLength;
    start = cpuMicros();
    replica.receive(message);
    spent.receive += cpuMicros() - start;
  }
  for (const phase of phases) best[phase] = Math.min(best[phase], spent[phase] / JOINS);
  bytesPerJoin = bytes / JOINS;
}
const total = phases.reduce((sum, phase) => sum + best[phase], 0);
process.stdout.write(`CPU µs per join (min of ${ROUNDS} rounds): ${phases.map((phase) => `${phase} ${best[phase].toFixed(1)}`).join(", ")}; sum ${total.toFixed(1)}; ${bytesPerJoin.toFixed(0)} B on the wire per join\n`);

const heapUsed = () => {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};
const before = heapUsed();
const owner = engine("owner-heap", () => false);
for (let join = 0; join < JOINS; join += 1) track(owner, ROUNDS, join);
const state = owner.flush();
const withOwner = heapUsed();
const replica = engine("replica-heap", () => false);
replica.receive(owner.heartbeat());
if (state) replica.receive(state);
const withReplica = heapUsed();
process.stdout.write(`heap per entry after full GCs: owner ${((withOwner - before) / JOINS).toFixed(0)} B, replica ${((withReplica - withOwner) / JOINS).toFixed(0)} B\n`);
