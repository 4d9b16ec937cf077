/**
 * Fan-out benchmark: switchboard against a raw `ws` + Redis pub/sub ceiling and socket.io 4 +
 * redis adapter, same load generator, same machine, same run. Every figure is reported next to
 * the baselines' and as a ratio, because absolute numbers on a shared 2-core machine drift.
 *
 *   npm run bench              full suite (≤ 15 min)
 *   npm run bench -- --quick   smoke-sized (≤ 2 min): a target's servers are kept from one scenario to
 *                              the next unless one of their nodes was killed (each scenario on its own
 *                              topics), so RSS deltas there are taken on warm processes
 *   npm run bench -- --only steady,fanout --targets switchboard,raw-ws
 *   npm run bench -- --only steady --targets switchboard --profile   (.cpuprofile per gateway node and bridge in results/profiles/)
 *   npm run bench -- --only steady --rounds 5   (every selected scenario this many rounds; quick mode runs 1)
 *
 * A scenario judged against a target with a thin margin runs several rounds in a full run, its
 * targets alternated (switchboard, raw-ws, socket.io, switchboard, raw-ws, …; socket.io in the
 * first round only): the shared machine's drift
 * over minutes moves one target's reading as much as the whole margin (raw-ws alone read 14 and
 * 22 µs per delivery in runs minutes apart), and alternating puts every target under each
 * stretch of it. Ratios are taken within a round (adjacent runs) and their median is reported
 * with the lowest and highest; every round's row stays in the table.
 *
 * Writes test/bench/results/fanout-<timestamp>.json; a full unfiltered run also rewrites the
 * tables of test/bench/RESULTS.md, keeping its hand-written notes from NOTES_HEADING on.
 */
import { fork, spawn, execSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { fileURLToPath } from "node:url";
import { startRedis, waitForPort, type RedisProcess } from "../support/redis.ts";
import { freePort } from "../support/ports.ts";
import { TEST_SECRET } from "../support/gateway.ts";
import type { Command, NodeJoins, PublishPath, PublishResult, Target } from "./loadgen.ts";
import { APP_LAUNCH_ENV, appArgs } from "./app-launch.ts";
import { cpuSeconds, machineCpu, mainThreadWakes, rssKiB } from "./procstat.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));
const args = process.argv.slice(2);
const quick = args.includes("--quick");
const onlyFlag = args.findIndex((arg) => arg === "--only" || arg.startsWith("--only="));
const only = onlyFlag < 0 ? undefined : (args[onlyFlag]!.split("=")[1] ?? args[onlyFlag + 1])?.split(",");
const profile = args.includes("--profile");
const targetsFlag = args.indexOf("--targets");
const roundsFlag = args.indexOf("--rounds");
const roundsOverride = roundsFlag < 0 ? undefined : Number(args[roundsFlag + 1]);
if (roundsOverride !== undefined && !(Number.isInteger(roundsOverride) && roundsOverride >= 1)) throw new Error("--rounds takes a whole number ≥ 1");
const onlyTargets = targetsFlag < 0 ? undefined : args[targetsFlag + 1]?.split(",");
const NODES = 2;
/** `--profile`: switchboard gateway nodes and the bridge run with --cpu-prof and write here when they stop. */
const PROFILE_DIR = fileURLToPath(new URL("./results/profiles/", import.meta.url));
const PROFILE_WRITE_MS = 10_000;
const NOTES_HEADING = "## What each optimisation bought";
/** The handler scenario pushes every message through one publisher socket; the per-socket limit must not shape it. */
const UNLIMITED_PUSH_RATE = 1_000_000;
const BRIDGE_LEASE_TIMEOUT_MS = 20_000;
/** Delivery is over when nothing arrived for this long; on a loaded shared machine stalls of a second happen. */
const SETTLE_MS = 3_000;
/**
 * Once every expected delivery arrived, a duplicate could still be on its way (a second
 * forwarding travels the same path milliseconds behind the first): this long is waited for one.
 */
const GRACE_MS = quick ? 1_000 : SETTLE_MS;
/**
 * Before a measured publish, the same traffic, unmeasured but accounted: a server process fresh
 * from its joins compiles its delivery path during its first thousands of messages (V8 tiers
 * functions up by their call counts, on its worker threads). Profiled in payload-4k (600
 * messages/s), the bridge's compiler threads were a third of its CPU until about 4,000 messages
 * in, then a twentieth; at steady load its first 3 s cost twice its later seconds and a gateway's
 * a fifth more; raw-ws's few lines warm within its joins. So: at least WARMUP_SECONDS and
 * WARMUP_MESSAGES, at most MAX_WARMUP_SECONDS and the measured count. The measured window is the
 * steady state a long-running server lives in; the warm-up's own CPU per delivery is reported too.
 */
const WARMUP_SECONDS = quick ? 1 : 3;
const WARMUP_MESSAGES = quick ? 0 : 5_000;
const MAX_WARMUP_SECONDS = 10;
const STORM_CLOSE_TIMEOUT_MS = 10_000;
/** Pause between the last join answer and the RSS reading (allocation after the replies: presence flushes, GC). */
const RSS_SETTLE_MS = quick ? 250 : 1_000;
/** A node's joins not answered within this are counted lost. */
const JOIN_TIMEOUT_MS = 120_000;

interface Scenario {
  name: string;
  clients: number;
  topics: number;
  /** Topics each client joins over its one socket (1 unless the scenario measures joins). */
  joinsPerClient?: number;
  messages: number;
  rate: number;
  payloadBytes: number;
  path: PublishPath;
  targets: Target[];
  /** Kill one switchboard node halfway through publishing: the run must report loss. */
  killNodeMidway?: boolean;
  /** After the joins, kill one node: its clients rejoin through the other at once (rejoins/s). */
  joinStorm?: boolean;
  publish: boolean;
  /** Rounds in a full run (1 when absent and in quick mode): the scenarios whose targets have a thin margin. */
  rounds?: number;
}

/** Enough rounds for a median that one disturbed run cannot move. */
const JUDGED_ROUNDS = 3;
/**
 * CPU per delivery against raw-ws, the thinnest margin: a round's ratio read 0.88–1.20× in one run
 * (raw-ws alone 16–30 µs per delivery between rounds), so five rounds, ≈ 1 min each.
 */
const CPU_JUDGED_ROUNDS = 5;
/**
 * socket.io runs in the first round only: no target is judged against it with a thin margin
 * (throughput ≥ 2× is judged at saturation, one round), so later rounds spend their minutes on
 * switchboard and raw-ws.
 */
const runsInRound = (target: Target, round: number) => target !== "socketio" || round === 1;

const ALL: Target[] = ["switchboard", "raw-ws", "socketio"];
const scale = (full: number, small: number) => (quick ? small : full);
const SCENARIOS: Scenario[] = [
  { name: "steady", clients: scale(2000, 200), topics: scale(100, 20), messages: scale(12_000, 1_000), rate: 1_500, payloadBytes: 100, path: "to", targets: ALL, publish: true, rounds: CPU_JUDGED_ROUNDS },
  { name: "steady-handler", clients: scale(2000, 200), topics: scale(100, 20), messages: scale(12_000, 1_000), rate: 1_500, payloadBytes: 100, path: "handler", targets: ["switchboard"], publish: true },
  { name: "saturation", clients: scale(2000, 200), topics: scale(100, 20), messages: scale(30_000, 3_000), rate: 20_000, payloadBytes: 100, path: "to", targets: ALL, publish: true },
  { name: "fanout", clients: scale(2000, 200), topics: 1, messages: scale(300, 60), rate: 50, payloadBytes: 100, path: "to", targets: ALL, publish: true },
  { name: "payload-4k", clients: scale(2000, 200), topics: scale(100, 20), messages: scale(6_000, 800), rate: 600, payloadBytes: 4096, path: "to", targets: ALL, publish: true, rounds: CPU_JUDGED_ROUNDS },
  { name: "idle-memory", clients: scale(10_000, 600), topics: scale(10_000, 600), messages: 0, rate: 0, payloadBytes: 0, path: "to", targets: ALL, publish: false, rounds: JUDGED_ROUNDS },
  // Join throughput: every client joins 20 topics of its own (20 pipelined joins per socket, each with its own token).
  { name: "join-rate", clients: scale(1000, 200), topics: scale(20_000, 4_000), joinsPerClient: 20, messages: 0, rate: 0, payloadBytes: 0, path: "to", targets: ALL, publish: false, rounds: JUDGED_ROUNDS },
  { name: "join-storm", clients: scale(2000, 200), topics: scale(100, 20), messages: 0, rate: 0, payloadBytes: 0, path: "to", targets: ALL, joinStorm: true, publish: false },
  { name: "broken-run", clients: scale(600, 100), topics: 20, messages: scale(4_000, 1_000), rate: 1_000, payloadBytes: 100, path: "to", targets: ["switchboard"], killNodeMidway: true, publish: true },
];

interface BridgeStats {
  forwarded: number;
  /** Dropped because the bridge could not prove it still held the forwarding lease. */
  standby: number;
  /** The bridge's share of the switchboard CPU per delivery (one process for the whole cluster). */
  cpuMicrosPerDelivery?: number;
}

interface Servers {
  pids(): number[];
  readonly bridgePid?: number;
  /** The bridge's counters (switchboard only): `forwarded` and `standby` tell loss at the bridge from loss after it. */
  bridgeStats(): Promise<BridgeStats | undefined>;
  urls: string[];
  killOne(): void;
  stop(): Promise<void>;
}

/** A /proc reading summed over the target's server processes still running. */
function sumOverServers(servers: Servers, read: (pid: number) => number): number {
  return servers.pids().reduce((total, pid) => total + read(pid), 0);
}

/** No message lost, repeated, misrouted or left over from an earlier publish. */
function deliveredCleanly(result: PublishResult): boolean {
  return result.lost === 0 && result.duplicates === 0 && result.wrongTopic === 0 && result.stale === 0;
}

/** Spawns one server into `children` at once (so a failed start still cleans it up); resolves once it listens. */
function spawnServer(children: ChildProcess[], args: string[], env: Record<string, string>, port: number, profiled = false): Promise<ChildProcess> {
  const profiling = profiled ? ["--cpu-prof", `--cpu-prof-dir=${PROFILE_DIR}`] : [];
  const entry = args[args.length - 1]!;
  const child = spawn(process.execPath, [...profiling, ...args], {
    cwd: root,
    env: { ...process.env, ...env, PORT: String(port) },
    stdio: ["ignore", "ignore", "inherit"],
  });
  children.push(child);
  const exited = new Promise<never>((_, reject) => child.once("exit", (code, signal) => reject(new Error(`${entry} exited with ${code ?? signal} before listening`))));
  return Promise.race([waitForPort(port, 20_000).then(() => child), exited]);
}

/** A child killed by a signal has a signalCode and no exitCode. */
function running(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

/** Messages published before the bridge holds its lease would be dropped and counted as loss. */
async function untilBridgeLeads(healthUrl: string): Promise<void> {
  const deadline = Date.now() + BRIDGE_LEASE_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const status = (await fetch(healthUrl).then((response) => response.json(), () => ({}))) as { leader?: boolean };
    if (status.leader) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`bridge did not take the lease within ${BRIDGE_LEASE_TIMEOUT_MS} ms`);
}

async function startTarget(target: Target, redis: RedisProcess): Promise<Servers> {
  const children: ChildProcess[] = [];
  try {
    return await startProcesses(target, redis, children);
  } catch (error) {
    // The nodes that did start would outlive the run.
    for (const child of children) child.kill("SIGKILL");
    throw error;
  }
}

async function startProcesses(target: Target, redis: RedisProcess, children: ChildProcess[]): Promise<Servers> {
  const urls: string[] = [];
  let bridgeHealthUrl: string | undefined;
  let bridgePid: number | undefined;
  const starting: Array<Promise<ChildProcess>> = [];
  // Nodes and bridge start side by side: startup is most of a short run.
  for (let i = 0; i < NODES; i++) {
    const port = await freePort();
    const env: Record<string, string> = { REDIS_URL: redis.url, HOST: "127.0.0.1", LOG_LEVEL: "warn" };
    const args = {
      switchboard: () => appArgs("gateway"),
      // The baselines run from their sources: they make no function per message, so tsx's
      // function names cost them nothing there.
      "raw-ws": () => ["--import", "tsx", "test/bench/baselines/raw-ws-server.ts"],
      socketio: () => ["--import", "tsx", "test/bench/baselines/socketio-server.ts"],
    }[target]();
    Object.assign(env, { NODE_ID: `bench-${i + 1}`, JWT_SECRET: TEST_SECRET, PUSH_RATE_PER_SECOND: String(UNLIMITED_PUSH_RATE), IDLE_TIMEOUT_MS: "120000" });
    if (target === "switchboard") Object.assign(env, APP_LAUNCH_ENV);
    starting.push(spawnServer(children, args, env, port, profile && target === "switchboard"));
    urls.push(`ws://127.0.0.1:${port}`);
  }
  if (target === "switchboard") {
    const port = await freePort();
    const bridge = spawnServer(children, appArgs("bridge"), { REDIS_URL: redis.url, JWT_SECRET: TEST_SECRET, NODE_ID: "bench-bridge", LOG_LEVEL: "warn", ...APP_LAUNCH_ENV }, port, profile);
    bridgePid = children[children.length - 1]!.pid;
    const healthUrl = `http://127.0.0.1:${port}/healthz`;
    bridgeHealthUrl = healthUrl;
    starting.push(
      bridge.then(async (child) => {
        await untilBridgeLeads(healthUrl);
        return child;
      }),
    );
  }
  await Promise.all(starting);
  return {
    urls,
    bridgePid,
    bridgeStats: async () => {
      if (bridgeHealthUrl === undefined) return undefined;
      const { forwarded, standby } = (await fetch(bridgeHealthUrl).then((response) => response.json())) as BridgeStats;
      return { forwarded, standby };
    },
    pids: () => children.filter((child) => running(child) && child.pid).map((child) => child.pid!),
    killOne: () => children[1]?.kill("SIGKILL"),
    stop: async () => {
      await Promise.all(
        children.map(
          (child) =>
            new Promise<void>((resolve) => {
              if (!running(child)) return resolve();
              child.once("exit", () => resolve());
              if (!profile) return child.kill("SIGKILL");
              // A profile is written only on a clean exit; SIGINT closes the node.
              child.kill("SIGINT");
              setTimeout(() => child.kill("SIGKILL"), PROFILE_WRITE_MS).unref();
            }),
        ),
      );
    },
  };
}

type Reply =
  | { type: "ready" }
  | { type: "connected"; ms: number; clients: number; connectsPerSecond: number }
  | { type: "joined"; perNode: NodeJoins[] }
  | { type: "rejoined"; ms: number; clients: number; failed: number; joinsPerSecond: number }
  | { type: "published" }
  | { type: "result"; result: PublishResult }
  | { type: "error"; message: string };

/** `ready` settles once the child listens for commands (one sent earlier would be lost). */
function loadgen(): { child: ChildProcess; ready: Promise<void>; ask(command: Command, until: Reply["type"], timeoutMs: number): Promise<Reply> } {
  const child = fork(fileURLToPath(new URL("./loadgen.ts", import.meta.url)), [], { execArgv: ["--import", "tsx"], stdio: ["ignore", "ignore", "inherit", "ipc"] });
  const ready = new Promise<void>((resolve, reject) => {
    child.once("exit", (code, signal) => reject(new Error(`loadgen exited with ${code ?? signal} before it was ready`)));
    const onReady = (reply: Reply) => {
      if (reply.type !== "ready") return;
      child.off("message", onReady);
      resolve();
    };
    child.on("message", onReady);
  });
  // Once ready, a later exit is reported by the command waiting for it.
  ready.catch(() => undefined);
  return {
    child,
    ready,
    ask: (command, until, timeoutMs) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`loadgen: no ${until} within ${timeoutMs} ms`)), timeoutMs);
        const onMessage = (reply: Reply) => {
          if (reply.type === "error") {
            clearTimeout(timer);
            child.off("message", onMessage);
            reject(new Error(reply.message));
          } else if (reply.type === until) {
            clearTimeout(timer);
            child.off("message", onMessage);
            resolve(reply);
          }
        };
        child.on("message", onMessage);
        child.send(command);
      }),
  };
}

interface RunResult {
  scenario: string;
  target: Target;
  /** 1-based; a scenario's targets take turns round by round. */
  round: number;
  /** Rounds of this scenario in the run. */
  rounds: number;
  clients: number;
  /** Sockets opened per second (no joins), cluster-wide. */
  connectsPerSecond: number;
  /** Joins answered ok per second per node, averaged over the nodes (each measured alone, see loadgen). */
  joinsPerSecondPerNode: number;
  joins: { sent: number; ok: number; refused: number; lost: number; perNode: NodeJoins[] };
  /** The load generator's CPU share of one core while joining: near 100 % it, not the server, set the rate. */
  loadgenJoinCpuShare: number;
  /** CPU of every server process (all nodes, and the bridge) per join answered: steadier than the rate on a shared machine. */
  serverCpuMicrosPerJoin: number;
  redisCpuMicrosPerJoin: number;
  /** join-storm: the killed node's clients rejoining the survivor at once. */
  rejoinsPerSecond?: number;
  rssKiBPerConnection: number;
  serverCpuMicrosPerDelivery?: number;
  /**
   * Times each server process's main thread slept and was woken, per message published (server
   * processes still running, in start order: the nodes, then the bridge). On this machine a wake-up after a few
   * ms asleep costs 100+ µs of CPU, more than the work it wakes for: the count explains much of a
   * process's CPU at low rates.
   */
  wakesPerMessage?: number[];
  redisCpuSeconds?: number;
  bridge?: BridgeStats;
  /** The unmeasured publish before `publish` (see WARMUP_SECONDS): accounted for loss and duplicates, and its CPU kept apart. */
  warmup?: Pick<PublishResult, "expected" | "lost" | "duplicates" | "wrongTopic"> & { messages: number; serverCpuMicrosPerDelivery: number };
  publish?: PublishResult;
  clean: boolean;
  machineBusyShare: number;
  error?: string;
}

function roundsOf(scenario: Scenario): number {
  return roundsOverride ?? (quick ? 1 : (scenario.rounds ?? 1));
}

/** --quick: each target's servers, while all of their nodes live, for the next scenario. */
const warmServers = new Map<Target, Servers>();

async function runOne(scenario: Scenario, target: Target, round: number, redis: RedisProcess, redisPid: number): Promise<RunResult> {
  const rounds = roundsOf(scenario);
  const machineStart = machineCpu();
  let servers: Servers | undefined = warmServers.get(target);
  warmServers.delete(target);
  let gen: ReturnType<typeof loadgen> | undefined;
  let keepServers = false;
  try {
    // The load generator starts (tsx compiling it) while the servers do.
    gen = loadgen();
    servers ??= await startTarget(target, redis);
    await gen.ready;
    const rssBefore = sumOverServers(servers, rssKiB);
    const connected = (await gen.ask(
      {
        type: "connect",
        target,
        urls: servers.urls,
        clients: scenario.clients,
        topics: scenario.topics,
        joinsPerClient: scenario.joinsPerClient ?? 1,
        topicPrefix: target === "switchboard" && scenario.path === "handler" ? `rooms:bench-${scenario.name}-` : `bench-${scenario.name}:`,
        secret: target === "switchboard" ? TEST_SECRET : undefined,
        redisUrl: redis.url,
      },
      "connected",
      180_000,
    )) as Extract<Reply, { type: "connected" }>;
    const loadgenCpuBefore = cpuSeconds(gen.child.pid!);
    const serverCpuBefore = sumOverServers(servers, cpuSeconds);
    const redisCpuBefore = cpuSeconds(redisPid);
    const joinStarted = performance.now();
    const { perNode } = (await gen.ask({ type: "join", timeoutMs: JOIN_TIMEOUT_MS }, "joined", NODES * JOIN_TIMEOUT_MS + 10_000)) as Extract<Reply, { type: "joined" }>;
    const loadgenJoinCpuShare = (cpuSeconds(gen.child.pid!) - loadgenCpuBefore) / ((performance.now() - joinStarted) / 1000);
    const serverJoinCpu = sumOverServers(servers, cpuSeconds) - serverCpuBefore;
    const redisJoinCpu = cpuSeconds(redisPid) - redisCpuBefore;
    await new Promise((resolve) => setTimeout(resolve, RSS_SETTLE_MS));
    const rssAfter = sumOverServers(servers, rssKiB);
    const sum = (field: "sent" | "ok" | "refused" | "lost") => perNode.reduce((total, node) => total + node[field], 0);
    const joins = { sent: sum("sent"), ok: sum("ok"), refused: sum("refused"), lost: sum("lost"), perNode };
    const result: RunResult = {
      scenario: scenario.name,
      target,
      round,
      rounds,
      clients: connected.clients,
      connectsPerSecond: connected.connectsPerSecond,
      joinsPerSecondPerNode: perNode.reduce((total, node) => total + node.joinsPerSecond, 0) / perNode.length,
      joins,
      loadgenJoinCpuShare,
      serverCpuMicrosPerJoin: (serverJoinCpu / Math.max(1, joins.ok)) * 1e6,
      redisCpuMicrosPerJoin: (redisJoinCpu / Math.max(1, joins.ok)) * 1e6,
      rssKiBPerConnection: (rssAfter - rssBefore) / Math.max(1, connected.clients),
      clean: joins.ok === joins.sent,
      machineBusyShare: 0,
    };
    if (scenario.joinStorm) {
      const orphans = Math.floor(connected.clients / NODES);
      servers.killOne();
      const storm = (await gen.ask({ type: "storm", expected: orphans, timeoutMs: STORM_CLOSE_TIMEOUT_MS }, "rejoined", 180_000)) as Extract<Reply, { type: "rejoined" }>;
      result.rejoinsPerSecond = storm.joinsPerSecond;
      result.clean = result.clean && storm.failed === 0 && storm.clients === orphans;
    }
    if (scenario.publish) {
      const publishCommand = { type: "publish", rate: scenario.rate, payloadBytes: scenario.payloadBytes, path: scenario.path, settleMs: SETTLE_MS } as const;
      const warmupMessages = scenario.killNodeMidway
        ? 0
        : Math.min(Math.max(Math.ceil(scenario.rate * WARMUP_SECONDS), WARMUP_MESSAGES), scenario.rate * MAX_WARMUP_SECONDS, scenario.messages);
      if (warmupMessages > 0) {
        const warmupCpuBefore = sumOverServers(servers, cpuSeconds);
        const { result: warmup } = (await gen.ask({ ...publishCommand, firstId: 0, messages: warmupMessages, graceMs: 0 }, "result", 300_000)) as Extract<Reply, { type: "result" }>;
        const warmupCpu = sumOverServers(servers, cpuSeconds) - warmupCpuBefore;
        result.warmup = {
          messages: warmupMessages,
          expected: warmup.expected,
          lost: warmup.lost,
          duplicates: warmup.duplicates,
          wrongTopic: warmup.wrongTopic,
          serverCpuMicrosPerDelivery: (warmupCpu / Math.max(1, warmup.delivered)) * 1e6,
        };
        result.clean = result.clean && deliveredCleanly(warmup);
      }
      const cpuBefore = new Map(servers.pids().map((pid) => [pid, cpuSeconds(pid)]));
      const redisBefore = cpuSeconds(redisPid);
      const bridgeBefore = servers.bridgePid === undefined ? 0 : cpuSeconds(servers.bridgePid);
      const wakesBefore = new Map(servers.pids().map((pid) => [pid, mainThreadWakes(pid)]));
      if (scenario.killNodeMidway) setTimeout(() => servers?.killOne(), ((scenario.messages / scenario.rate) * 1000) / 2);
      const reply = (await gen.ask(
        { ...publishCommand, firstId: warmupMessages, messages: scenario.messages, graceMs: GRACE_MS },
        "result",
        300_000,
      )) as Extract<Reply, { type: "result" }>;
      // A node killed mid-run takes its CPU counters with it: only survivors are compared.
      const cpuUsed = servers.pids().reduce((sum, pid) => sum + cpuSeconds(pid) - (cpuBefore.get(pid) ?? 0), 0);
      result.publish = reply.result;
      result.bridge = await servers.bridgeStats();
      if (result.bridge && servers.bridgePid !== undefined) {
        result.bridge.cpuMicrosPerDelivery = ((cpuSeconds(servers.bridgePid) - bridgeBefore) / Math.max(1, reply.result.delivered)) * 1e6;
      }
      result.serverCpuMicrosPerDelivery = (cpuUsed / Math.max(1, reply.result.delivered)) * 1e6;
      result.wakesPerMessage = servers.pids().map((pid) => (mainThreadWakes(pid) - (wakesBefore.get(pid) ?? 0)) / Math.max(1, scenario.messages));
      result.redisCpuSeconds = cpuSeconds(redisPid) - redisBefore;
      result.clean = result.clean && deliveredCleanly(reply.result);
    }
    const machineEnd = machineCpu();
    const busy = machineEnd.busy - machineStart.busy;
    result.machineBusyShare = busy / Math.max(1e-6, busy + (machineEnd.idle - machineStart.idle));
    keepServers = quick && !scenario.joinStorm && !scenario.killNodeMidway;
    return result;
  } catch (error) {
    return {
      scenario: scenario.name,
      target,
      round,
      rounds,
      clients: 0,
      connectsPerSecond: 0,
      joinsPerSecondPerNode: 0,
      joins: { sent: 0, ok: 0, refused: 0, lost: 0, perNode: [] },
      loadgenJoinCpuShare: 0,
      serverCpuMicrosPerJoin: 0,
      redisCpuMicrosPerJoin: 0,
      rssKiBPerConnection: 0,
      clean: false,
      machineBusyShare: 0,
      error: error instanceof Error ? error.message : String(error),
    };
  } finally {
    if (gen?.child.connected) gen.child.disconnect();
    gen?.child.kill();
    if (servers && keepServers) warmServers.set(target, servers);
    else await servers?.stop();
  }
}

function ratio(value: number | undefined, base: number | undefined): number | undefined {
  if (value === undefined || base === undefined || !Number.isFinite(value) || !Number.isFinite(base) || base === 0) return undefined;
  return value / base;
}

/** One value as it is; several as their median with the lowest and highest. */
function spreadCell(values: Array<number | undefined>, digits: number, unit = ""): string {
  const known = values.filter((value): value is number => value !== undefined && Number.isFinite(value)).sort((a, b) => a - b);
  if (known.length === 0) return "–";
  const middle = known.length / 2;
  const median = known.length % 2 === 1 ? known[Math.floor(middle)]! : (known[middle - 1]! + known[middle]!) / 2;
  const shown = `${median.toFixed(digits)}${unit}`;
  return known.length === 1 ? shown : `${shown} (${known[0]!.toFixed(digits)}–${known[known.length - 1]!.toFixed(digits)})`;
}

/** The compared metrics, in the column order of the ratio and median tables; `digits` for a median of values. */
const COMPARED_METRICS: Array<{ of: (r: RunResult) => number | undefined; digits: number }> = [
  { of: (r) => r.publish?.deliveriesPerSecond, digits: 0 },
  { of: (r) => r.serverCpuMicrosPerDelivery, digits: 2 },
  { of: (r) => r.publish?.latencyMs.p99, digits: 1 },
  { of: (r) => r.rssKiBPerConnection, digits: 1 },
  { of: (r) => r.joinsPerSecondPerNode, digits: 0 },
  { of: (r) => r.serverCpuMicrosPerJoin, digits: 0 },
  { of: (r) => r.rejoinsPerSecond, digits: 0 },
];

/** CPU per delivery measured after the warm-up, with the bridge's share and the warm-up's own figure in brackets. */
function cpuCell(r: RunResult): string {
  if (r.serverCpuMicrosPerDelivery === undefined) return "–";
  const notes = [
    ...(r.bridge?.cpuMicrosPerDelivery === undefined ? [] : [`bridge ${r.bridge.cpuMicrosPerDelivery.toFixed(2)}`]),
    ...(r.warmup === undefined ? [] : [`warm-up ${r.warmup.serverCpuMicrosPerDelivery.toFixed(2)}`]),
  ];
  return `${r.serverCpuMicrosPerDelivery.toFixed(2)}${notes.length > 0 ? ` (${notes.join("; ")})` : ""}`;
}

function markdown(results: RunResult[], meta: Record<string, unknown>): string {
  const lines = [
    "# Fan-out benchmark results",
    "",
    `Date ${meta.date}, commit ${meta.commit}, ${meta.machine}. ${NODES} nodes per target, one load-generator process, one Redis. Mode: ${meta.mode}.`,
    "Ratios are switchboard ÷ baseline measured in the same run (lower is better for CPU, latency and memory; higher for throughput). A scenario run in rounds (n/N) alternated its targets round by round (socket.io in the first round only); its ratios are the median of the rounds' ratios, lowest–highest in brackets.",
    `Every publishing scenario but the broken run first publishes the same traffic for at least ${WARMUP_SECONDS} s and ${WARMUP_MESSAGES} messages (at most ${MAX_WARMUP_SECONDS} s and its measured count), unmeasured but counted in lost, dup and clean: a fresh process compiles its delivery path then. Throughput, latency and CPU are of the measured publish; the warm-up's CPU per delivery is in brackets.`,
    "",
    "| scenario | target | clients | deliveries/s | p50 ms | p99 ms | p999 ms | CPU µs/delivery | RSS KiB/conn | connects/s | joins/s/node | CPU µs/join (Redis) | loadgen CPU (joins) | rejoins/s | lost | dup | clean | machine busy |",
    "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |",
  ];
  for (const r of results) {
    const p = r.publish;
    lines.push(
      `| ${r.scenario}${r.rounds > 1 ? ` (${r.round}/${r.rounds})` : ""} | ${r.target} | ${r.clients} | ${p ? Math.round(p.deliveriesPerSecond) : "–"} | ${p?.latencyMs.p50.toFixed(1) ?? "–"} | ${p?.latencyMs.p99.toFixed(1) ?? "–"} | ${p?.latencyMs.p999.toFixed(1) ?? "–"} | ${cpuCell(r)} | ${r.rssKiBPerConnection.toFixed(1)} | ${Math.round(r.connectsPerSecond)} | ${Math.round(r.joinsPerSecondPerNode)} | ${r.serverCpuMicrosPerJoin.toFixed(0)} (${r.redisCpuMicrosPerJoin.toFixed(0)}) | ${(r.loadgenJoinCpuShare * 100).toFixed(0)}% | ${r.rejoinsPerSecond === undefined ? "–" : Math.round(r.rejoinsPerSecond)} | ${p ? p.lost + (r.warmup?.lost ?? 0) : "–"} | ${p ? p.duplicates + p.stale + (r.warmup?.duplicates ?? 0) : "–"} | ${r.clean ? "yes" : "**no**"}${r.joins.ok === r.joins.sent ? "" : ` (joins: ${r.joins.refused} refused, ${r.joins.lost} unanswered)`}${r.bridge?.standby ? ` (bridge dropped ${r.bridge.standby} as standby)` : ""}${r.error ? ` (${r.error.split("\n")[0]})` : ""} | ${(r.machineBusyShare * 100).toFixed(0)}% |`,
    );
  }
  lines.push("", "## Ratios (switchboard ÷ baseline)", "", "| scenario | vs | throughput | CPU/delivery | p99 | RSS/conn | joins/s/node | CPU/join | rejoins/s |", "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
  for (const scenario of new Set(results.map((r) => r.scenario))) {
    const runs = results.filter((r) => r.scenario === scenario);
    for (const baseTarget of new Set(runs.filter((r) => r.target !== "switchboard").map((r) => r.target))) {
      // Each round's switchboard run against the same round's baseline: the runs closest in time.
      const pairs = runs.flatMap((ours) => {
        const base = ours.target === "switchboard" ? runs.find((r) => r.target === baseTarget && r.round === ours.round) : undefined;
        return base ? [{ ours, base }] : [];
      });
      if (pairs.length === 0) continue;
      const cells = COMPARED_METRICS.map(({ of }) => spreadCell(pairs.map(({ ours, base }) => ratio(of(ours), of(base))), 2, "×"));
      lines.push(`| ${scenario}${pairs.length > 1 ? ` (${pairs.length} rounds)` : ""} | ${baseTarget} | ${cells.join(" | ")} |`);
    }
  }
  const rounded = results.filter((r) => r.rounds > 1);
  if (rounded.length > 0) {
    lines.push(
      "",
      "## Medians over rounds (lowest–highest)",
      "",
      "| scenario | target | deliveries/s | CPU µs/delivery | p99 ms | RSS KiB/conn | joins/s/node | CPU µs/join | rejoins/s |",
      "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    );
    for (const scenario of new Set(rounded.map((r) => r.scenario))) {
      for (const target of new Set(rounded.filter((r) => r.scenario === scenario).map((r) => r.target))) {
        const runs = rounded.filter((r) => r.scenario === scenario && r.target === target);
        const cells = COMPARED_METRICS.map(({ of, digits }) => spreadCell(runs.map(of), digits));
        lines.push(`| ${scenario} | ${target} | ${cells.join(" | ")} |`);
      }
    }
  }
  const broken = results.find((r) => r.scenario === "broken-run");
  if (broken) lines.push("", `Sanity check: the broken run (a node SIGKILLed mid-publish) is reported ${broken.clean ? "**clean — the accounting is wrong**" : "as lossy, as it must be"} (lost ${broken.publish?.lost ?? "?"}).`);
  return lines.join("\n") + "\n";
}

const redis = await startRedis();
const redisPid = Number(execSync(`pgrep -f "redis-server 127.0.0.1:${redis.port}"`).toString().trim().split("\n")[0]);
const results: RunResult[] = [];
const started = Date.now();
try {
  for (const scenario of SCENARIOS.filter((s) => !only || only.includes(s.name))) {
    for (let round = 1; round <= roundsOf(scenario); round++) {
      for (const target of scenario.targets.filter((t) => (!onlyTargets || onlyTargets.includes(t)) && runsInRound(t, round))) {
        const result = await runOne(scenario, target, round, redis, redisPid);
        results.push(result);
        process.stdout.write(`${JSON.stringify(result)}\n`);
      }
    }
  }
} finally {
  await Promise.all([...warmServers.values()].map((servers) => servers.stop()));
  await redis.stop();
}
const meta = {
  date: new Date().toISOString(),
  commit: execSync("git rev-parse --short HEAD", { cwd: root }).toString().trim(),
  machine: `${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, ${Math.round(totalmem() / 2 ** 30)} GiB, node ${process.version}`,
  mode: quick ? "quick" : "full",
  seconds: Math.round((Date.now() - started) / 1000),
};
mkdirSync(new URL("./results/", import.meta.url), { recursive: true });
const stamp = meta.date.replace(/[:.]/g, "-");
writeFileSync(new URL(`./results/fanout-${stamp}.json`, import.meta.url), JSON.stringify({ meta, results }, null, 2));
if (!quick && !only && !onlyTargets && !profile) {
  const resultsFile = new URL("./RESULTS.md", import.meta.url);
  const previous = existsSync(resultsFile) ? readFileSync(resultsFile, "utf8") : "";
  const notes = previous.indexOf(NOTES_HEADING);
  writeFileSync(resultsFile, markdown(results, meta) + (notes < 0 ? "" : `\n${previous.slice(notes)}`));
}
process.stdout.write(markdown(results, meta));
