import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { launchCluster, type DevCluster } from "./cluster.ts";
import { formatLine } from "./log-format.ts";
import { portsFree } from "./net.ts";
import { startRoundRobinProxy, type RoundRobinProxy } from "./proxy.ts";
import { RedisUnavailableError, startPrivateRedis, type PrivateRedis } from "./redis.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const WEB_DIST = join(ROOT, "apps", "web", "dist");
/** Development restarts (tsx watch) and Ctrl-C should not wait out a production drain window. */
const DEV_DRAIN_WINDOW_MS = "1000";
/** How often the launcher checks that whoever started it is still there. */
const PARENT_CHECK_MS = 1_000;
/** Width of the process-name column in the merged output. */
const NAME_WIDTH = 9;

export interface StackOptions {
  /** What the banner calls this run. */
  readonly title: string;
  readonly gateways: number;
  /** The one port a browser opens: the proxy's when `proxy`, else the single gateway's. */
  readonly port: number;
  /** Round-robin proxy on `port`, gateways on the ports after it. */
  readonly proxy: boolean;
  readonly watch: boolean;
  /** Listen address of the gateways (the proxy always listens on 127.0.0.1). */
  readonly host?: string;
}

/** An integer from the environment, or `fallback`; exits with a clear message when it is out of range. */
export function integerFromEnv(name: string, fallback: number, min: number, max: number): number {
  const text = process.env[name];
  if (text === undefined || text === "") return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max) fail(`${name}=${text} is not an integer in ${min}-${max}`);
  return value;
}

/**
 * Runs a private Redis (unless REDIS_URL is set), the gateways, the bridge and optionally the
 * round-robin proxy until SIGINT/SIGTERM or until one of them dies; then stops every child and
 * exits. The process exits 0 after a requested stop, 1 after a failure.
 */
export async function runStack(options: StackOptions): Promise<void> {
  const out = (line: string) => process.stdout.write(`${line}\n`);
  const firstGatewayPort = options.proxy ? options.port + 1 : options.port;
  // The proxy, the gateways, and the bridge's health server, in that order.
  const portCount = (options.proxy ? 1 : 0) + options.gateways + 1;
  if (!(await portsFree(options.port, portCount))) {
    return fail(`ports ${options.port}-${options.port + portCount - 1} are not all free; set PORT to another first port`);
  }

  let redis: PrivateRedis | undefined;
  let cluster: DevCluster | undefined;
  let proxy: RoundRobinProxy | undefined;
  let stopping = false;
  const shutdown = async (code: number) => {
    if (stopping) {
      // Second Ctrl-C: no more waiting.
      cluster?.kill();
      process.exit(1);
    }
    stopping = true;
    out("stopping…");
    await proxy?.close();
    await cluster?.stop();
    await redis?.stop();
    process.exit(code);
  };
  process.on("SIGINT", () => void shutdown(0));
  process.on("SIGTERM", () => void shutdown(0));
  // A launcher whose parent is gone (turbo or a terminal killed without a signal to us) would keep
  // every child alive with nobody to stop them.
  const parent = process.ppid;
  setInterval(() => process.ppid !== parent && void shutdown(1), PARENT_CHECK_MS).unref();
  // Last resort when the launcher dies of a bug: its children must not outlive it.
  process.once("exit", () => {
    cluster?.kill();
    redis?.kill();
  });

  let redisUrl = process.env.REDIS_URL;
  if (!redisUrl) {
    try {
      redis = await startPrivateRedis();
    } catch (error) {
      if (error instanceof RedisUnavailableError) return fail(error.message);
      throw error;
    }
    redisUrl = redis.url;
    void redis.exited.then(() => {
      if (!stopping) {
        out("redis-server exited; stopping");
        void shutdown(1);
      }
    });
  }

  const env: Record<string, string> = {
    // One secret for every node: a token issued by one must verify on the others.
    JWT_SECRET: process.env.JWT_SECRET ?? randomBytes(32).toString("hex"),
    DRAIN_WINDOW_MS: process.env.DRAIN_WINDOW_MS ?? DEV_DRAIN_WINDOW_MS,
  };
  if (options.proxy) {
    // Browsers open the proxy, not a gateway: its origin is the one the gateways must allow.
    env.PUBLIC_URL = process.env.PUBLIC_URL ?? `http://127.0.0.1:${options.port}`;
    env.ALLOWED_ORIGINS = process.env.ALLOWED_ORIGINS ?? `${env.PUBLIC_URL},http://localhost:${options.port}`;
  }
  const webRoot = process.env.WEB_ROOT ?? (existsSync(WEB_DIST) ? WEB_DIST : undefined);
  if (webRoot) env.WEB_ROOT = webRoot;

  cluster = launchCluster({
    root: ROOT,
    gateways: options.gateways,
    firstPort: firstGatewayPort,
    redisUrl,
    host: options.host,
    env,
    watch: options.watch,
    onLine: (name, line) => out(formatLine(name, line, NAME_WIDTH)),
  });
  try {
    await cluster.ready();
  } catch (error) {
    out(`start failed: ${(error as Error).message}`);
    return shutdown(1);
  }
  void cluster.failed.then((exit) => {
    out(`${exit.name} exited (${exit.signal ?? `code ${exit.code}`}); stopping everything`);
    void shutdown(1);
  });
  if (options.proxy) {
    try {
      proxy = await startRoundRobinProxy({
        port: options.port,
        targets: cluster.gateways.map((node) => ({ host: "127.0.0.1", port: node.port })),
      });
    } catch (error) {
      out(`the proxy cannot listen on ${options.port}: ${(error as Error).message}`);
      return shutdown(1);
    }
  }

  const open = proxy ? proxy.url : (cluster.gateways[0]?.url ?? "");
  out("");
  out(`switchboard ${options.title}`);
  out(`  open       ${open}${proxy ? `   (round-robin proxy: each request and upgrade goes to the next gateway)` : ""}`);
  for (const node of cluster.gateways) out(`  ${node.nodeId.padEnd(10)} ${node.url}`);
  out(`  ${(cluster.bridge?.nodeId ?? "bridge").padEnd(10)} ${cluster.bridge ? cluster.bridge.healthUrl : "not started: apps/bridge/src/main.ts does not exist yet"}`);
  out(`  ${"redis".padEnd(10)} ${redisUrl}${redis ? "   (private, emptied on exit)" : ""}`);
  out(`  ${"web".padEnd(10)} ${webRoot ?? "none (run npm run build -w @switchboard/web)"}`);
  out(`  ${"jwt".padEnd(10)} ${process.env.JWT_SECRET ? "JWT_SECRET from the environment" : "random secret for this run, shared by every node"}`);
  if (options.watch) out("  a change to a source file restarts the processes that load it");
  out("  Ctrl-C stops everything");
  // One machine-readable line, for scripts and tests that start the launcher.
  out(`ready open=${open} gateways=${cluster.gateways.map((node) => node.url).join(",")} bridge=${cluster.bridge?.healthUrl ?? "none"} redis=${redisUrl}`);
  out("");
}

function fail(message: string): never {
  process.stderr.write(`switchboard: ${message}\n`);
  process.exit(1);
}
