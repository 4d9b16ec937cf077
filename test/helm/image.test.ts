import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, test } from "node:test";
import { parseAllDocuments } from "yaml";
import { CHART_DIR } from "./render.ts";

/**
 * The Dockerfile's structure, checked without a Docker engine (none runs where these tests do):
 * stages, what the runtime stage copies, its user, entry point and health check, and that the
 * paths the Helm chart runs exist in the image.
 */

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
/** The node image's unprivileged user and the uid the chart's securityContext runs as. */
const NODE_USER_UID = 1000;

interface Instruction {
  keyword: string;
  args: string;
}

interface Stage {
  name: string;
  from: string;
  instructions: Instruction[];
}

/** Dockerfile instructions with comments dropped and backslash continuations joined. */
function parseDockerfile(text: string): { args: Map<string, string>; stages: Stage[] } {
  const logical = text
    .split("\n")
    .filter((line) => !line.trimStart().startsWith("#"))
    .join("\n")
    .replace(/\\\n/g, " ")
    .split("\n")
    .map((line) => line.trim())
    .filter(Boolean);
  const args = new Map<string, string>();
  const stages: Stage[] = [];
  for (const line of logical) {
    const [keyword = "", ...rest] = line.split(/\s+/);
    const instruction = { keyword: keyword.toUpperCase(), args: rest.join(" ") };
    if (instruction.keyword === "FROM") {
      const [image = "", , name = `stage-${stages.length}`] = rest;
      stages.push({ name, from: image.replace(/\$\{(\w+)\}/g, (_, arg: string) => args.get(arg) ?? ""), instructions: [] });
    } else if (stages.length === 0 && instruction.keyword === "ARG") {
      const [name = "", value = ""] = instruction.args.split("=");
      args.set(name, value);
    } else {
      stages.at(-1)?.instructions.push(instruction);
    }
  }
  return { args, stages };
}

const { stages } = parseDockerfile(readFileSync(`${ROOT}/Dockerfile`, "utf8"));
const runtime = stages.at(-1) as Stage;
const all = (stage: Stage, keyword: string) => stage.instructions.filter((instruction) => instruction.keyword === keyword);
const last = (stage: Stage, keyword: string) => all(stage, keyword).at(-1)?.args;
const execForm = (args: string | undefined) => JSON.parse(args ?? "null") as string[];

describe("Dockerfile", () => {
  test("three stages on a slim Node 20 image: build, production dependencies, runtime", () => {
    assert.deepEqual(stages.map((stage) => stage.name), ["build", "production-deps", "runtime"]);
    for (const stage of stages) assert.match(stage.from, /^node:20[\w.-]*-slim$/);
  });

  test("the build stage bundles the apps; the dependency stage installs production packages only", () => {
    const build = stages.find((stage) => stage.name === "build") as Stage;
    assert.ok(all(build, "RUN").some((run) => run.args.includes("node scripts/bundle.mjs")));
    const deps = stages.find((stage) => stage.name === "production-deps") as Stage;
    assert.ok(all(deps, "RUN").some((run) => /npm ci\b.*--omit=dev/.test(run.args)), "npm ci --omit=dev");
    assert.ok(!all(deps, "COPY").some((copy) => /^\.\s/.test(copy.args)), "the dependency stage sees manifests, not sources");
  });

  test("the runtime stage copies node_modules only from the production stage and no sources", () => {
    const copies = all(runtime, "COPY").map((copy) => copy.args);
    const modules = copies.filter((copy) => copy.includes("node_modules"));
    assert.deepEqual(modules, ["--from=production-deps /app/node_modules ./node_modules"]);
    for (const copy of copies.filter((args) => args.startsWith("--from=build"))) {
      assert.match(copy, /\/dist \S+\/dist$/, `only bundles come from the build stage: ${copy}`);
    }
    for (const copy of copies.filter((args) => !args.startsWith("--from"))) {
      const source = copy.split(/\s+/)[0] ?? "";
      assert.doesNotMatch(source, /^\.$|(^|\/)(src|test)(\/|$)/, `runtime copies sources: ${copy}`);
      assert.ok(existsSync(`${ROOT}/${source}`), `${source} is in the build context`);
    }
  });

  test("the runtime runs as the unprivileged node user behind tini, with a health check", () => {
    assert.equal(last(runtime, "USER"), "node");
    const entrypoint = execForm(last(runtime, "ENTRYPOINT"));
    assert.match(entrypoint[0] ?? "", /tini$/);
    assert.deepEqual(entrypoint.slice(1), ["--", "node"]);
    assert.deepEqual(execForm(last(runtime, "CMD")), ["apps/gateway/dist/main.js"]);
    assert.equal(last(runtime, "EXPOSE"), "4000");
    const healthcheck = last(runtime, "HEALTHCHECK") ?? "";
    const script = /CMD \["node", "([^"]+)"\]/.exec(healthcheck)?.[1];
    assert.ok(script && existsSync(`${ROOT}/${script}`), `health check script ${script} exists`);
  });

  test("every container the chart runs starts a file the image contains, as the uid the image's user has", () => {
    const imageFiles = all(runtime, "COPY").map((copy) => copy.args.split(/\s+/).at(-1) ?? "");
    const templates = ["gateway-deployment.yaml", "bridge-deployment.yaml"].map((file) => readFileSync(`${CHART_DIR}/templates/${file}`, "utf8"));
    for (const template of templates) {
      const args = /args: (\[.*\])/.exec(template)?.[1];
      const entry = (JSON.parse(args ?? "[]") as string[])[0] ?? "";
      assert.ok(
        imageFiles.some((dest) => entry.startsWith(dest.replace(/\/$/, ""))),
        `${entry} is copied into the image (${imageFiles.join(", ")})`,
      );
    }
    const values = parseAllDocuments(readFileSync(`${CHART_DIR}/values.yaml`, "utf8"))[0]?.toJS() as {
      podSecurityContext: { runAsUser: number };
    };
    assert.equal(values.podSecurityContext.runAsUser, NODE_USER_UID);
  });

  test(".dockerignore keeps local installs, build output and VCS data out of the context", () => {
    const ignored = readFileSync(`${ROOT}/.dockerignore`, "utf8").split("\n").map((line) => line.trim());
    for (const pattern of ["**/node_modules", "**/dist", ".git"]) assert.ok(ignored.includes(pattern), pattern);
  });
});
