import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { waitForHttpOk } from "./net.ts";
import { spawnSupervised, type ProcessExit, type SupervisedProcess } from "./supervised.ts";

/** A first start compiles every workspace lib through tsx; a loaded 2-core machine needs a while. */
const DEFAULT_READY_TIMEOUT_MS = 60_000;
const LOOPBACK = "127.0.0.1";
const GATEWAY_ENTRY = "apps/gateway/src/main.ts";
const BRIDGE_ENTRY = "apps/bridge/src/main.ts";
/**
 * The image's V8 launch flag (Dockerfile NODE_OPTIONS: the young generation capped at 2 × 4 MiB,
 * whose pages a join burst otherwise leaves resident), so that a node started here holds the
 * memory a deployed one does. Through NODE_OPTIONS, which also reaches the app under tsx watch.
 */
const APP_NODE_OPTIONS = "--max-semi-space-size=4";

export interface ClusterOptions {
  /** The repository root (apps/ and node_modules/ below it). */
  readonly root: string;
  readonly gateways: number;
  /** Gateway i listens on firstPort + i; the bridge's health server on the port after the last gateway. */
  readonly firstPort: number;
  readonly redisUrl: string;
  /** Listen address of the gateways; 127.0.0.1 unless given. */
  readonly host?: string;
  /** Extra environment for every process (JWT secret, origins, …); the caller's env is inherited. */
  readonly env?: Readonly<Record<string, string>>;
  /** Restart a process when one of its source files changes (tsx watch). */
  readonly watch: boolean;
  readonly onLine: (name: string, line: string) => void;
  readonly readyTimeoutMs?: number;
}

export interface GatewayNode {
  readonly nodeId: string;
  readonly port: number;
  readonly url: string;
  readonly pid: number;
}

export interface DevCluster {
  readonly gateways: readonly GatewayNode[];
  /** Undefined when apps/bridge has no entry point yet. */
  readonly bridge: (GatewayNode & { readonly healthUrl: string }) | undefined;
  /** Settles with the first process that exits on its own (a crash, a port in use). */
  readonly failed: Promise<ProcessExit>;
  /** Resolves once every process answers /healthz; rejects naming what exited or timed out. */
  ready(): Promise<void>;
  /** Gateways first (SIGINT: close sockets now, no drain window in development), then the bridge. */
  stop(): Promise<void>;
  /** Signals one process (SIGTERM drains a gateway) and waits for it, e.g. to test a rolling restart. */
  stopNode(nodeId: string, signal: NodeJS.Signals): Promise<ProcessExit>;
  kill(): void;
}

/**
 * Spawns `gateways` gateway nodes and the bridge, each in its own process group. Returns at once,
 * so a caller interrupted while the nodes boot can still stop them; `ready()` waits for them.
 */
export function launchCluster(options: ClusterOptions): DevCluster {
  const tsxCli = createRequire(join(options.root, "package.json")).resolve("tsx/cli");
  const runArgs = (entry: string) =>
    options.watch ? [tsxCli, "watch", "--clear-screen=false", entry] : ["--import", "tsx", entry];
  const spawnApp = (name: string, entry: string, env: Record<string, string>) =>
    spawnSupervised({
      name,
      command: process.execPath,
      args: runArgs(entry),
      cwd: options.root,
      env: {
        ...process.env,
        NODE_OPTIONS: [process.env.NODE_OPTIONS, APP_NODE_OPTIONS].filter(Boolean).join(" "),
        ...options.env,
        REDIS_URL: options.redisUrl,
        NODE_ID: name,
        ...env,
      },
      onLine: options.onLine,
    });

  const processes: SupervisedProcess[] = [];
  const gateways: GatewayNode[] = [];
  for (let index = 0; index < options.gateways; index++) {
    const nodeId = `gateway-${index + 1}`;
    const port = options.firstPort + index;
    const child = spawnApp(nodeId, GATEWAY_ENTRY, { PORT: String(port), HOST: options.host ?? LOOPBACK });
    processes.push(child);
    gateways.push({ nodeId, port, url: `http://${reachableHost(options.host)}:${port}`, pid: child.pid });
  }
  let bridge: DevCluster["bridge"];
  if (existsSync(join(options.root, BRIDGE_ENTRY))) {
    const port = options.firstPort + options.gateways;
    const child = spawnApp("bridge-1", BRIDGE_ENTRY, { PORT: String(port), HOST: LOOPBACK });
    processes.push(child);
    const url = `http://${LOOPBACK}:${port}`;
    bridge = { nodeId: child.name, port, url, healthUrl: `${url}/healthz`, pid: child.pid };
  }

  let stopping = false;
  const failed = new Promise<ProcessExit>((resolve) => {
    for (const child of processes) void child.exited.then((exit) => stopping || resolve(exit));
  });
  const stop = async () => {
    stopping = true;
    const gatewayProcesses = processes.filter((child) => child.name.startsWith("gateway-"));
    await Promise.all(gatewayProcesses.map((child) => child.stop("SIGINT")));
    await Promise.all(processes.filter((child) => !gatewayProcesses.includes(child)).map((child) => child.stop("SIGTERM")));
  };
  const kill = () => processes.forEach((child) => child.kill());
  const stopNode = (nodeId: string, signal: NodeJS.Signals) => {
    const child = processes.find((candidate) => candidate.name === nodeId);
    if (!child) throw new Error(`no process ${nodeId} in this cluster`);
    return child.stop(signal);
  };

  const timeoutMs = options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS;
  const anyDown = () => processes.some((child) => !child.running);
  const ready = async () => {
    const healthUrls = [...gateways.map((node) => `${node.url}/healthz`), ...(bridge ? [bridge.healthUrl] : [])];
    try {
      await Promise.all(healthUrls.map((url) => waitForHttpOk(url, timeoutMs, () => !anyDown())));
    } catch (error) {
      const down = processes.filter((child) => !child.running).map((child) => child.name);
      throw new Error(down.length > 0 ? `${down.join(", ")} exited at start` : (error as Error).message);
    }
  };
  return { gateways, bridge, failed, ready, stop, stopNode, kill };
}

/** Where this machine reaches a server listening on `host` (the wildcard addresses include loopback). */
function reachableHost(host: string | undefined): string {
  if (host === undefined || host === "0.0.0.0" || host === "::" || host === "[::]") return LOOPBACK;
  return host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
}
