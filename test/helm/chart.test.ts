import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { describeConfig, loadConfig } from "@switchboard/config";
import { extractHelm, type HelmBinary } from "./helm-binary.ts";
import {
  CHART_DIR,
  container,
  find,
  podSpec,
  renderChart,
  runHelm,
  valuesArgs,
  type Container,
  type Manifest,
  type Rendered,
} from "./render.ts";

/** Options the chart sets itself (from other values, Secrets or the pod) rather than via `config`. */
const CHART_MANAGED_ENV = ["PORT", "HOST", "DRAIN_WINDOW_MS", "REDIS_URL", "NODE_ID", "JWT_SECRET", "ADMIN_SECRET"];
const SECRET_ENV = ["JWT_SECRET", "ADMIN_SECRET", "REDIS_URL"];
const AFFINITY_ANNOTATION = /affinity|sticky|session-cookie/i;
/** The password inside fixtures/inline-redis-url.values.yaml. */
const INLINE_REDIS_PASSWORD = "s3cret-redis-password";

let helm: HelmBinary;
let defaults: Rendered;
let production: Rendered;

before(async () => {
  helm = extractHelm();
  [defaults, production] = await Promise.all([
    renderChart(helm.path),
    renderChart(helm.path, ["production.values.yaml"]),
  ]);
});
after(() => helm?.remove());

function configMap(rendered: Rendered): Record<string, string> {
  return find(rendered.manifests, "ConfigMap", "-config").data ?? {};
}

function envNamed(target: Container, name: string) {
  return target.env?.find((variable) => variable.name === name);
}

function workloads(manifests: Manifest[]): Manifest[] {
  return manifests.filter((manifest) => manifest.spec?.template !== undefined);
}

describe("helm chart", () => {
  test("helm lint --strict passes with default and production values", async () => {
    for (const files of [[], ["production.values.yaml"], ["inline-redis-url.values.yaml"]]) {
      const result = await runHelm(helm.path, ["lint", "--strict", CHART_DIR, ...valuesArgs(files)]);
      assert.equal(result.code, 0, `lint with [${files.join(", ")}]: ${result.stdout}${result.stderr}`);
    }
  });

  test("default values render the trial set: gateway, bridge, bundled Redis, no Ingress/HPA", () => {
    const kinds = defaults.manifests.map((manifest) => `${manifest.kind}/${manifest.metadata.name}`).sort();
    assert.deepEqual(kinds, [
      "ConfigMap/sb-switchboard-config",
      "Deployment/sb-switchboard-bridge",
      "Deployment/sb-switchboard-gateway",
      "PodDisruptionBudget/sb-switchboard-bridge",
      "PodDisruptionBudget/sb-switchboard-gateway",
      "Secret/sb-switchboard-auth",
      "Service/sb-switchboard-gateway",
      "Service/sb-switchboard-redis",
      "ServiceAccount/sb-switchboard",
      "StatefulSet/sb-switchboard-redis",
    ]);
    const redisUrl = envNamed(container(find(defaults.manifests, "Deployment", "-gateway"), "gateway"), "REDIS_URL");
    assert.equal(redisUrl?.value, "redis://sb-switchboard-redis:6379");
  });

  test("gateway and bridge probes point at /readyz and /healthz on the port they listen on", () => {
    for (const rendered of [defaults, production]) {
      for (const component of ["gateway", "bridge"]) {
        const target = container(find(rendered.manifests, "Deployment", `-${component}`), component);
        const port = target.ports?.find((candidate) => candidate.name === "http");
        assert.ok(port, `the ${component} container names its port http`);
        assert.equal(String(port.containerPort), configMap(rendered).PORT, "the probed port is the one the process listens on");
        assert.deepEqual(target.readinessProbe?.httpGet, { path: "/readyz", port: "http" });
        assert.deepEqual(target.livenessProbe?.httpGet, { path: "/healthz", port: "http" });
        if (target.startupProbe) assert.deepEqual(target.startupProbe.httpGet, { path: "/healthz", port: "http" });
      }
      assert.equal(configMap(rendered).HOST, "0.0.0.0", "the kubelet and the Service reach the pod from outside it");
    }
  });

  test("termination grace covers the pre-stop sleep plus the whole drain window", () => {
    for (const rendered of [defaults, production]) {
      const deployment = find(rendered.manifests, "Deployment", "-gateway");
      const preStop = container(deployment, "gateway").lifecycle?.preStop?.exec?.command;
      assert.equal(preStop?.[0], "sleep");
      const preStopSeconds = Number(preStop[1]);
      const drainSeconds = Math.ceil(Number(configMap(rendered).DRAIN_WINDOW_MS) / 1000);
      const grace = podSpec(deployment).terminationGracePeriodSeconds ?? 30;
      assert.ok(drainSeconds > 0);
      assert.ok(grace > preStopSeconds + drainSeconds, `grace ${grace}s vs preStop ${preStopSeconds}s + drain ${drainSeconds}s`);
    }
    assert.equal(configMap(production).DRAIN_WINDOW_MS, "30000", "the drain window follows gateway.drainWindowMs");
  });

  test("no session affinity on the Service or in any annotation", () => {
    for (const rendered of [defaults, production]) {
      for (const manifest of rendered.manifests) {
        if (manifest.kind === "Service") assert.ok([undefined, "None"].includes(manifest.spec?.sessionAffinity), manifest.metadata.name);
        for (const key of Object.keys(manifest.metadata.annotations ?? {})) {
          assert.doesNotMatch(key, AFFINITY_ANNOTATION, `${manifest.kind}/${manifest.metadata.name}`);
        }
      }
    }
  });

  test("an Ingress asking for session affinity is refused", async () => {
    const result = await runHelm(helm.path, ["template", "sb", CHART_DIR, ...valuesArgs(["sticky-ingress.values.yaml"])]);
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /nginx\.ingress\.kubernetes\.io\/affinity asks for session affinity/);
  });

  test("the production Ingress routes to the gateway Service with long WebSocket timeouts", () => {
    const ingress = find(production.manifests, "Ingress", "-gateway");
    const service = find(production.manifests, "Service", "-gateway");
    const backend = ingress.spec?.rules?.[0]?.http.paths[0]?.backend.service;
    assert.equal(backend?.name, service.metadata.name);
    assert.equal(backend?.port.name, "http");
    const annotations = ingress.metadata.annotations ?? {};
    assert.ok(Number(annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"]) >= 3600);
    assert.equal(annotations["nginx.ingress.kubernetes.io/proxy-buffering"], "off");
    assert.equal(annotations["cert-manager.io/cluster-issuer"], "letsencrypt", "user annotations are kept");
    assert.equal(configMap(production).PUBLIC_URL, "https://chat.example.com", "PUBLIC_URL follows the TLS Ingress host");
  });

  test("secrets come from Secrets: never in the ConfigMap, never a plain env value", async () => {
    const inline = await renderChart(helm.path, ["inline-redis-url.values.yaml"]);
    for (const rendered of [defaults, production, inline]) {
      const data = configMap(rendered);
      for (const name of SECRET_ENV) assert.equal(data[name], undefined, `${name} in the ConfigMap`);
      for (const workload of workloads(rendered.manifests)) {
        for (const target of podSpec(workload).containers) {
          for (const name of ["JWT_SECRET", "ADMIN_SECRET"]) {
            if (target.name === "redis") continue;
            const variable = envNamed(target, name);
            assert.ok(variable?.valueFrom?.secretKeyRef, `${workload.metadata.name}/${name} from a Secret`);
            assert.equal(variable.value, undefined);
          }
        }
      }
    }
    const gateway = container(find(inline.manifests, "Deployment", "-gateway"), "gateway");
    assert.equal(envNamed(gateway, "REDIS_URL")?.valueFrom?.secretKeyRef?.key, "redis-url");
    assert.doesNotMatch(inline.text, new RegExp(INLINE_REDIS_PASSWORD), "the Redis password appears only base64-encoded in a Secret");
    const redisSecret = find(inline.manifests, "Secret", "-redis-url");
    assert.match(Buffer.from(redisSecret.data?.["redis-url"] ?? "", "base64").toString(), new RegExp(INLINE_REDIS_PASSWORD));

    const existing = container(find(production.manifests, "Deployment", "-gateway"), "gateway");
    assert.deepEqual(envNamed(existing, "JWT_SECRET")?.valueFrom?.secretKeyRef, { name: "switchboard-jwt", key: "jwt-secret" });
    assert.deepEqual(envNamed(existing, "REDIS_URL")?.valueFrom?.secretKeyRef, { name: "managed-redis", key: "url" });
    assert.ok(!production.manifests.some((manifest) => manifest.kind === "Secret"), "existing Secrets are used, none generated");
  });

  test("each pod's NODE_ID is its own name", () => {
    for (const workload of workloads(defaults.manifests).filter((manifest) => manifest.kind === "Deployment")) {
      for (const target of podSpec(workload).containers) {
        assert.equal(envNamed(target, "NODE_ID")?.valueFrom?.fieldRef?.fieldPath, "metadata.name");
      }
    }
  });

  test("two bridge replicas, pods never run as root", () => {
    for (const rendered of [defaults, production]) {
      assert.equal(find(rendered.manifests, "Deployment", "-bridge").spec?.replicas, 2);
      for (const workload of workloads(rendered.manifests)) {
        assert.equal(podSpec(workload).securityContext?.runAsNonRoot, true, workload.metadata.name);
        for (const target of podSpec(workload).containers) assert.equal(target.securityContext?.allowPrivilegeEscalation, false);
      }
    }
  });

  test("with autoscaling the HPA owns the gateway's replica count", () => {
    const deployment = find(production.manifests, "Deployment", "-gateway");
    assert.equal(deployment.spec?.replicas, undefined);
    const hpa = find(production.manifests, "HorizontalPodAutoscaler", "-gateway");
    assert.deepEqual(hpa.spec?.scaleTargetRef, { apiVersion: "apps/v1", kind: "Deployment", name: deployment.metadata.name });
    assert.equal(find(defaults.manifests, "Deployment", "-gateway").spec?.replicas, 3);
    find(production.manifests, "ServiceMonitor", "-gateway");
    assert.ok(!production.manifests.some((manifest) => manifest.kind === "StatefulSet"), "no bundled Redis with an external one");
  });

  test("the rendered configuration loads in the gateway's own config loader", () => {
    for (const rendered of [defaults, production]) {
      const env = { ...configMap(rendered), JWT_SECRET: "a".repeat(32), ADMIN_SECRET: "b".repeat(32), REDIS_URL: "redis://redis:6379", NODE_ID: "sb-switchboard-gateway-7d9f-x2" };
      const loaded = loadConfig({ env });
      assert.ok(loaded.ok, loaded.ok ? "" : loaded.errors.join("\n"));
      assert.equal(loaded.config.host, "0.0.0.0");
      assert.equal(loaded.config.drainWindowMs, Number(configMap(rendered).DRAIN_WINDOW_MS));
    }
  });

  test("every config option is either in the schema's config map or set by the chart", () => {
    const schema = JSON.parse(readFileSync(`${CHART_DIR}/values.schema.json`, "utf8")) as {
      properties: { config: { properties: Record<string, unknown> } };
    };
    const inSchema = Object.keys(schema.properties.config.properties);
    const options = describeConfig().map((option) => option.env);
    assert.deepEqual([...inSchema, ...CHART_MANAGED_ENV].sort(), [...options].sort());
  });

  test("values violating the schema fail the install", async () => {
    const cases: [string, RegExp][] = [
      ["bad-replicas.values.yaml", /gateway\.replicas: Invalid type\. Expected: integer, given: string/],
      ["secret-in-config.values.yaml", /Additional property JWT_SECRET is not allowed/],
    ];
    for (const [file, message] of cases) {
      const result = await runHelm(helm.path, ["template", "sb", CHART_DIR, ...valuesArgs([file])]);
      assert.notEqual(result.code, 0, file);
      assert.match(result.stderr, message);
      const lint = await runHelm(helm.path, ["lint", "--strict", CHART_DIR, ...valuesArgs([file])]);
      assert.notEqual(lint.code, 0, `lint ${file}`);
    }
  });

  test("Redis must come from exactly one place", async () => {
    const both = await runHelm(helm.path, ["template", "sb", CHART_DIR, "--set", "redis.url=redis://elsewhere:6379"]);
    assert.match(both.stderr, /not both/);
    const none = await runHelm(helm.path, ["template", "sb", CHART_DIR, "--set", "redis.bundled=false"]);
    assert.match(none.stderr, /no Redis configured/);
  });
});
