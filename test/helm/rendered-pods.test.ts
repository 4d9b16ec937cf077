import assert from "node:assert/strict";
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { after, before, describe, test } from "node:test";
import WebSocket from "ws";
import { freePort } from "../support/ports.ts";
import { startRedis, type RedisProcess } from "../support/redis.ts";
import { extractHelm, type HelmBinary } from "./helm-binary.ts";
import { CHART_DIR, container, find, podSpec, runHelm, type Container, type Manifest } from "./render.ts";
import { parseAllDocuments } from "yaml";

/**
 * The chart's pods as the kubelet would run them, minus Kubernetes: the production bundles started
 * with the rendered container args, env and ConfigMap (loopback instead of 0.0.0.0, a private
 * Redis), probed at the rendered probe paths, and the gateway drained by SIGTERM within the
 * rendered grace period.
 */

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
/** Short enough for a fast suite, long enough that the drain is observable while it runs. */
const DRAIN_WINDOW_MS = 2_000;
/** A readiness probe sees the drain this soon; the kubelet probes every few seconds anyway. */
const READINESS_DROP_MS = 500;
const BUNDLE_TIMEOUT_MS = 60_000;
const START_TIMEOUT_MS = 20_000;
const FAKE_SECRETS: Readonly<Record<string, string>> = {
  "jwt-secret": "rendered-pods-jwt-secret-0123456789abcdef",
  "admin-secret": "rendered-pods-admin-secret-0123456789abcdef",
};

let helm: HelmBinary;
let redis: RedisProcess;
let manifests: Manifest[];
const children: ChildProcess[] = [];

before(async () => {
  helm = extractHelm();
  const [rendered, bundled] = await Promise.all([
    runHelm(helm.path, ["template", "sb", CHART_DIR, "--set", `gateway.drainWindowMs=${DRAIN_WINDOW_MS}`]),
    new Promise<string>((resolve, reject) =>
      execFile(process.execPath, ["scripts/bundle.mjs"], { cwd: ROOT, timeout: BUNDLE_TIMEOUT_MS }, (error, stdout, stderr) =>
        error ? reject(new Error(`bundle failed: ${stderr}`)) : resolve(stdout),
      ),
    ),
  ]);
  assert.equal(rendered.code, 0, rendered.stderr);
  assert.match(bundled, /apps\/gateway\/dist\/main\.js/);
  manifests = parseAllDocuments(rendered.stdout).map((document) => document.toJS() as Manifest).filter(Boolean);
  redis = await startRedis();
});

after(async () => {
  for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
  await redis?.stop();
  helm?.remove();
});

/** The container's environment as the kubelet builds it, with Secrets and the downward API filled in. */
function podEnvironment(deployment: Manifest, target: Container, port: number): NodeJS.ProcessEnv {
  const configMapName = target.envFrom?.[0]?.configMapRef?.name;
  const configMap = manifests.find((manifest) => manifest.kind === "ConfigMap" && manifest.metadata.name === configMapName);
  assert.ok(configMap?.data, `ConfigMap ${configMapName} is rendered`);
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, ...configMap.data };
  for (const variable of target.env ?? []) {
    const from = variable.valueFrom;
    if (variable.value !== undefined) env[variable.name] = variable.value;
    else if (from?.fieldRef?.fieldPath === "metadata.name") env[variable.name] = `${deployment.metadata.name}-7d9f8-x2x4q`;
    else if (from?.secretKeyRef) env[variable.name] = FAKE_SECRETS[from.secretKeyRef.key];
  }
  // Tests stay on loopback; the chart's 0.0.0.0 and in-cluster Redis name are replaced.
  return { ...env, HOST: "127.0.0.1", PORT: String(port), REDIS_URL: redis.url, LOG_LEVEL: "warn" };
}

async function startPod(component: string): Promise<{ child: ChildProcess; base: string; target: Container; deployment: Manifest }> {
  const deployment = find(manifests, "Deployment", `-${component}`);
  const target = container(deployment, component);
  const port = await freePort();
  assert.ok(target.args?.[0], "the container names its entry point");
  // The image runs `tini -- node <args>` in a directory laid out like the repository.
  const child = spawn(process.execPath, target.args, { cwd: ROOT, env: podEnvironment(deployment, target, port), stdio: ["ignore", "ignore", "pipe"] });
  children.push(child);
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const base = `http://127.0.0.1:${port}`;
  const livenessPath = target.livenessProbe?.httpGet?.path ?? "";
  const deadline = Date.now() + START_TIMEOUT_MS;
  while ((await status(`${base}${livenessPath}`)) !== 200) {
    assert.equal(child.exitCode, null, `${component} exited at start: ${stderr}`);
    assert.ok(Date.now() < deadline, `${component} did not answer ${livenessPath} within ${START_TIMEOUT_MS} ms: ${stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { child, base, target, deployment };
}

/** Readiness follows liveness once Redis, presence and the relay are up: a moment later on a loaded machine. */
async function untilReady(url: string): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while ((await status(url)) !== 200) {
    assert.ok(Date.now() < deadline, `${url} not 200 within ${START_TIMEOUT_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function status(url: string): Promise<number | undefined> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    await response.arrayBuffer();
    return response.status;
  } catch {
    return undefined;
  }
}

function openSocket(base: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`${base.replace("http", "ws")}/socket/websocket?vsn=2.0.0`);
    socket.once("open", () => resolve(socket));
    socket.once("error", reject);
  });
}

describe("chart pods run as rendered", () => {
  test("the bridge bundle starts with the rendered args and env and answers its probes", async () => {
    const { base, target, child } = await startPod("bridge");
    await untilReady(`${base}${target.readinessProbe?.httpGet?.path}`);
    child.kill("SIGTERM");
    const [code] = (await once(child, "exit")) as [number | null];
    assert.equal(code, 0);
  });

  test("the gateway answers its probes, then drains on SIGTERM within the grace period", async () => {
    const { child, base, target, deployment } = await startPod("gateway");
    const readiness = `${base}${target.readinessProbe?.httpGet?.path}`;
    await untilReady(readiness);

    // Two sockets: the second is closed half a window after the first, so the drain is observable.
    const sockets = await Promise.all([openSocket(base), openSocket(base)]);
    const closeCodes = sockets.map((socket) => once(socket, "close").then(([code]) => code as number));
    const grace = podSpec(deployment).terminationGracePeriodSeconds ?? 30;
    const preStop = Number(target.lifecycle?.preStop?.exec?.command[1] ?? 0);
    const started = Date.now();
    const exited = once(child, "exit") as Promise<[number | null]>;
    child.kill("SIGTERM");

    // The signal is handled asynchronously: poll, but well inside the drain.
    while ((await status(readiness)) !== 503) {
      assert.ok(Date.now() - started < READINESS_DROP_MS, `readiness still up ${READINESS_DROP_MS} ms after SIGTERM`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.equal(sockets[1]?.readyState, WebSocket.OPEN, "readiness dropped while sockets were still being drained");
    assert.deepEqual(await Promise.all(closeCodes), [1012, 1012], "clients are told to reconnect elsewhere");
    const [code] = await exited;
    const tookMs = Date.now() - started;
    assert.equal(code, 0);
    assert.ok(tookMs >= DRAIN_WINDOW_MS / 2, `the closes were spread over the window (${tookMs} ms)`);
    assert.ok(tookMs < (grace - preStop) * 1000, `drained in ${tookMs} ms, inside the ${grace - preStop} s left after preStop`);
  });
});
