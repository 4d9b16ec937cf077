import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { freePort } from "./ports.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));

export interface GatewayProcess {
  readonly nodeId: string;
  readonly port: number;
  readonly url: string;
  readonly wsUrl: string;
  readonly child: ChildProcess;
  /** Everything the process printed, for assertions and for failure messages. */
  output(): string;
  kill(signal?: NodeJS.Signals): void;
  /** SIGTERM (drain) or SIGINT; resolves with the exit code. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | null>;
  exited: Promise<number | null>;
}

export interface GatewayOptions {
  redisUrl: string;
  nodeId?: string;
  env?: Record<string, string>;
  port?: number;
}

const HEALTHY_WITHIN_MS = 45_000;
/**
 * Starts on a port picked here: freePort's port is free when picked, but the app binds it only
 * seconds later (tsx compiles first), and a port picked meanwhile for another process can be the
 * same one.
 */
const PORT_ATTEMPTS = 3;

/** The app could not listen: another process holds its port. */
class PortTaken extends Error {}

const TEST_SECRET = "switchboard-test-secret-0123456789abcdef";

/** Starts `apps/gateway` as a real process on 127.0.0.1 and waits until /healthz answers. */
export function startGateway(options: GatewayOptions): Promise<GatewayProcess> {
  return startApp("apps/gateway/src/main.ts", "test-node", options);
}

/**
 * Starts one of the apps (gateway or bridge) on 127.0.0.1 with the suites' Redis, secret and log
 * level, and waits until /healthz answers.
 */
export async function startApp(entry: string, nodePrefix: string, options: GatewayOptions): Promise<GatewayProcess> {
  for (let attempt = 1; ; attempt++) {
    const port = options.port ?? (await freePort());
    const nodeId = options.nodeId ?? `${nodePrefix}-${port}`;
    try {
      return await spawnApp(entry, {
        nodeId,
        port,
        env: {
          PORT: String(port),
          HOST: "127.0.0.1",
          REDIS_URL: options.redisUrl,
          NODE_ID: nodeId,
          JWT_SECRET: TEST_SECRET,
          LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "warn",
          ...options.env,
        },
      });
    } catch (error) {
      if (!(error instanceof PortTaken) || options.port !== undefined || attempt === PORT_ATTEMPTS) throw error;
    }
  }
}

export async function startGateways(count: number, options: GatewayOptions): Promise<GatewayProcess[]> {
  return Promise.all(Array.from({ length: count }, (_, i) => startGateway({ ...options, nodeId: `${options.nodeId ?? "node"}-${i + 1}` })));
}

export { TEST_SECRET };

async function spawnApp(entry: string, opts: { nodeId: string; port: number; env: Record<string, string> }): Promise<GatewayProcess> {
  const child = spawn(process.execPath, ["--import", "tsx", entry], {
    cwd: root,
    env: { ...process.env, ...opts.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const url = `http://127.0.0.1:${opts.port}`;
  const gateway: GatewayProcess = {
    nodeId: opts.nodeId,
    port: opts.port,
    url,
    wsUrl: `ws://127.0.0.1:${opts.port}`,
    child,
    exited,
    output: () => output,
    kill: (signal = "SIGKILL") => {
      if (child.exitCode === null) child.kill(signal);
    },
    stop: async (signal = "SIGINT", timeoutMs = 15_000) => {
      if (child.exitCode !== null) return child.exitCode;
      child.kill(signal);
      const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
  // tsx compiles the sources on first start: seconds on a busy 2-core machine.
  const deadline = Date.now() + HEALTHY_WITHIN_MS;
  for (;;) {
    if (child.exitCode !== null) {
      const failure = `${entry} exited with ${child.exitCode} before it was healthy:\n${output}`;
      throw output.includes("EADDRINUSE") ? new PortTaken(failure) : new Error(failure);
    }
    try {
      // Whoever holds the port answers, while ours fails to bind it: only our own node counts.
      const res = await fetch(`${url}/healthz`);
      if (res.ok && ((await res.json()) as { node?: unknown }).node === opts.nodeId) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`${entry} not healthy after ${HEALTHY_WITHIN_MS} ms:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return gateway;
}

/** Polls `check` until it returns true or the timeout passes (then throws with `what`). */
export async function eventually(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
