import { execFile, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, waitForPort } from "./net.ts";

/** The gateway relies on Redis 7 commands (sharded pub/sub for the adapter, stream options). */
const MIN_REDIS_MAJOR = 7;
/** redis-server opens its port in milliseconds; a slow CI machine gets generous slack. */
const REDIS_START_TIMEOUT_MS = 10_000;
const REDIS_STOP_TIMEOUT_MS = 5_000;
const INSTALL_HINT =
  "install Redis >= 7 (Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis) or set REDIS_URL to a running one";

export interface PrivateRedis {
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  /** Resolves when redis-server exits, for whatever reason. */
  readonly exited: Promise<void>;
  stop(): Promise<void>;
  /** Synchronous SIGKILL, for a launcher that is exiting and cannot wait. */
  kill(): void;
}

export class RedisUnavailableError extends Error {
  override readonly name = "RedisUnavailableError";
}

/**
 * Starts a throwaway `redis-server` on 127.0.0.1 without persistence, in a temporary directory
 * that is removed on stop. Fails with a RedisUnavailableError naming what to install when there
 * is no usable redis-server.
 */
export async function startPrivateRedis(options: { port?: number } = {}): Promise<PrivateRedis> {
  await checkRedisVersion();
  const port = options.port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), "switchboard-dev-redis-"));
  const child = spawn(
    "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir],
    // Its own process group: a terminal's Ctrl-C must not take Redis away from nodes still closing.
    { stdio: ["ignore", "ignore", "inherit"], detached: true },
  );
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const removeDir = () => rmSync(dir, { recursive: true, force: true });
  void exited.then(removeDir);

  const failedEarly = exited.then(() => {
    throw new RedisUnavailableError(`redis-server exited at start (is port ${port} taken?)`);
  });
  // Only the race below cares; a later exit (a normal stop) must not count as unhandled.
  failedEarly.catch(() => undefined);
  try {
    await Promise.race([waitForPort(port, REDIS_START_TIMEOUT_MS), failedEarly]);
  } catch (error) {
    child.kill("SIGKILL");
    throw error;
  }

  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    pid: child.pid ?? 0,
    exited,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), REDIS_STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    },
    kill: () => {
      child.kill("SIGKILL");
    },
  };
}

function checkRedisVersion(): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile("redis-server", ["--version"], (error, stdout) => {
      if (error && (error as NodeJS.ErrnoException).code === "ENOENT") {
        return reject(new RedisUnavailableError(`redis-server is not installed: ${INSTALL_HINT}`));
      }
      if (error) return reject(new RedisUnavailableError(`redis-server --version failed (${error.message}): ${INSTALL_HINT}`));
      const major = Number(/v=(\d+)\./.exec(stdout)?.[1]);
      if (!(major >= MIN_REDIS_MAJOR)) {
        return reject(new RedisUnavailableError(`redis-server is too old (${stdout.trim()}): ${INSTALL_HINT}`));
      }
      resolve();
    });
  });
}
