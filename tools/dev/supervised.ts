import { spawn } from "node:child_process";
import { createInterface } from "node:readline";

/** Time a process gets to finish after its stop signal before its whole group is killed. */
const STOP_TIMEOUT_MS = 10_000;

export interface ProcessExit {
  readonly name: string;
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface SupervisedProcess {
  readonly name: string;
  readonly pid: number;
  readonly exited: Promise<ProcessExit>;
  readonly running: boolean;
  /** Signals the process group, waits for the leader, then kills whatever is left in the group. */
  stop(signal: NodeJS.Signals): Promise<ProcessExit>;
  /** Immediate SIGKILL of the whole group (second Ctrl-C). */
  kill(): void;
}

export interface SpawnOptions {
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
  /** Each output line of the process, stdout and stderr alike. */
  readonly onLine: (name: string, line: string) => void;
}

/**
 * A child in its own process group, so that stopping it also stops what it spawned (tsx watch runs
 * the app in a grandchild) and a terminal's Ctrl-C reaches only the launcher, which stops the
 * children in order instead of all at once.
 */
export function spawnSupervised(options: SpawnOptions): SupervisedProcess {
  const child = spawn(options.command, [...options.args], {
    cwd: options.cwd,
    env: options.env,
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ${options.name}: ${options.command}`);
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream, crlfDelay: Infinity }).on("line", (line) => options.onLine(options.name, line));
  }
  let running = true;
  const exited = new Promise<ProcessExit>((resolve) => {
    child.once("exit", (code, signal) => {
      running = false;
      resolve({ name: options.name, code, signal });
    });
  });
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-pid, signal);
    } catch {
      // ESRCH: the group is already empty.
    }
  };

  return {
    name: options.name,
    pid,
    exited,
    get running() {
      return running;
    },
    stop: async (signal) => {
      if (running) signalGroup(signal);
      const timer = setTimeout(() => signalGroup("SIGKILL"), STOP_TIMEOUT_MS);
      const exit = await exited;
      clearTimeout(timer);
      // The leader is gone; a grandchild that ignored the signal must not outlive it.
      signalGroup("SIGKILL");
      return exit;
    },
    kill: () => signalGroup("SIGKILL"),
  };
}
