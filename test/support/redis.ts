import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, waitForPort } from "../../tools/dev/net.ts";

export { waitForPort };

export interface RedisProcess {
  url: string;
  port: number;
  /** SIGKILL-free restart on the same port: the data set is empty afterwards, unless `appendOnly`. */
  restart(downMs?: number): Promise<void>;
  stop(): Promise<void>;
  kill(): void;
  start(): Promise<void>;
}

export interface RedisOptions {
  /** AOF persistence, as production runs it: a restart (SIGTERM) keeps every write it acknowledged. */
  appendOnly?: boolean;
}

/** Starts a private `redis-server` on 127.0.0.1 for one suite, persistence-free unless asked. */
export async function startRedis(options: RedisOptions = {}): Promise<RedisProcess> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "switchboard-redis-"));
  let child: ChildProcess | undefined;

  const start = async () => {
    child = spawn(
      "redis-server",
      ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", options.appendOnly ? "yes" : "no", "--dir", dir],
      { stdio: "ignore" },
    );
    await waitForPort(port, 5_000);
  };
  const stop = async () => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      running.once("exit", () => resolve());
      running.kill("SIGTERM");
    });
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    start,
    stop: async () => {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
    kill: () => child?.kill("SIGKILL"),
    restart: async (downMs = 500) => {
      await stop();
      await new Promise((resolve) => setTimeout(resolve, downMs));
      await start();
    },
  };
}
