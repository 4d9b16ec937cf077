#!/usr/bin/env node
// Runs every suite with Node's own test runner (through tsx): unit tests next to each lib/app,
// process-level suites under test/. One file at a time: suites start real Redis and gateway
// processes, and two cores are better spent on one suite than on contention.
import { spawn } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";

const root = new URL("..", import.meta.url).pathname;

function collect(dir, out) {
  for (const name of readdirSync(dir)) {
    if (name === "node_modules" || name === "bench" || name.startsWith(".")) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) collect(path, out);
    else if (name.endsWith(".test.ts")) out.push(relative(root, path));
  }
  return out;
}

const only = process.argv.slice(2);
const files = ["libs", "apps", "test"]
  .flatMap((dir) => collect(join(root, dir), []))
  .filter((file) => only.length === 0 || only.some((part) => file.includes(part)))
  .sort();

const child = spawn(
  process.execPath,
  ["--import", "tsx", "--test", "--test-concurrency=1", "--test-reporter=spec", ...files],
  { cwd: root, stdio: "inherit" },
);
child.on("exit", (code, signal) => process.exit(signal ? 1 : (code ?? 1)));
