import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";

export const CHART_DIR = fileURLToPath(new URL("../../deploy/helm/switchboard", import.meta.url));
export const FIXTURES_DIR = fileURLToPath(new URL("./fixtures", import.meta.url));
const RELEASE = "sb";
/** helm renders in well under a second; anything past this is a hang, not slowness. */
const HELM_TIMEOUT_MS = 30_000;

/** The parts of rendered manifests the chart tests look at. */
export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string }; fieldRef?: { fieldPath: string } };
}
export interface Probe {
  httpGet?: { path: string; port: string | number };
}
export interface Container {
  name: string;
  args?: string[];
  ports?: { name: string; containerPort: number }[];
  env?: EnvVar[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  startupProbe?: Probe;
  lifecycle?: { preStop?: { exec?: { command: string[] } } };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: { allowPrivilegeEscalation?: boolean; runAsUser?: number };
}
export interface PodSpec {
  containers: Container[];
  terminationGracePeriodSeconds?: number;
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number };
  affinity?: { podAntiAffinity?: Record<string, unknown> };
}
export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  data?: Record<string, string>;
  spec?: {
    replicas?: number;
    sessionAffinity?: string;
    template?: { spec: PodSpec };
    scaleTargetRef?: { kind: string; name: string };
    rules?: { host: string; http: { paths: { backend: { service: { name: string; port: { name?: string } } } }[] } }[];
  };
}

export interface HelmResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function runHelm(helm: string, args: string[]): Promise<HelmResult> {
  return new Promise((resolve) => {
    execFile(helm, args, { timeout: HELM_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

export function valuesArgs(valuesFiles: string[]): string[] {
  return valuesFiles.flatMap((file) => ["--values", `${FIXTURES_DIR}/${file}`]);
}

export interface Rendered {
  text: string;
  manifests: Manifest[];
}

/** `helm template` of the chart with the fixture values files given; throws when helm refuses. */
export async function renderChart(helm: string, valuesFiles: string[] = []): Promise<Rendered> {
  const result = await runHelm(helm, ["template", RELEASE, CHART_DIR, ...valuesArgs(valuesFiles)]);
  if (result.code !== 0) throw new Error(`helm template failed (${result.code}): ${result.stderr}`);
  const manifests: Manifest[] = [];
  for (const document of parseAllDocuments(result.stdout, { uniqueKeys: true })) {
    if (document.errors.length > 0) throw new Error(`rendered YAML does not parse: ${document.errors[0]?.message}`);
    const value: unknown = document.toJS();
    if (value !== null) manifests.push(value as Manifest);
  }
  return { text: result.stdout, manifests };
}

export function find(manifests: Manifest[], kind: string, nameSuffix: string): Manifest {
  const found = manifests.find((manifest) => manifest.kind === kind && manifest.metadata.name.endsWith(nameSuffix));
  if (!found) throw new Error(`no ${kind} named *${nameSuffix} among ${manifests.map((m) => `${m.kind}/${m.metadata.name}`).join(", ")}`);
  return found;
}

export function podSpec(manifest: Manifest): PodSpec {
  const spec = manifest.spec?.template?.spec;
  if (!spec) throw new Error(`${manifest.kind}/${manifest.metadata.name} has no pod template`);
  return spec;
}

export function container(manifest: Manifest, name: string): Container {
  const found = podSpec(manifest).containers.find((candidate) => candidate.name === name);
  if (!found) throw new Error(`${manifest.metadata.name} has no container ${name}`);
  return found;
}
