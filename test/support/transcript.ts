import { readFileSync } from "node:fs";

/**
 * Reads the reference transcript (test/fixtures/phoenix-1.7.24-transcript.txt) into sections of
 * steps, so suites can replay what a real Phoenix server was sent and compare what it answered.
 */
export type Step =
  | { kind: "send"; client: string; frame: string | Buffer }
  | { kind: "expect"; client: string; frame: string | Buffer }
  | { kind: "expect-close"; client: string; code: number }
  | { kind: "expect-nothing"; client: string; ms: number }
  | { kind: "note"; text: string };

export interface Section {
  title: string;
  steps: Step[];
}

const FIXTURE = new URL("../fixtures/phoenix-1.7.24-transcript.txt", import.meta.url);

export function readTranscript(): Section[] {
  const sections: Section[] = [];
  let current: Section | undefined;
  for (const line of readFileSync(FIXTURE, "utf8").split("\n")) {
    if (line.startsWith("### ")) {
      current = { title: line.slice(4).trim(), steps: [] };
      sections.push(current);
      continue;
    }
    if (!current) continue;
    const match = /^ {2}(C->S|S->C) ([A-Z0-9]+): (.*)$/.exec(line);
    if (!match) {
      if (line.trim()) current.steps.push({ kind: "note", text: line.trim() });
      continue;
    }
    const [, direction, client, rest] = match as unknown as [string, "C->S" | "S->C", string, string];
    const binary = /^BINARY hex=([0-9a-f]+)/.exec(rest);
    const close = /^<<close code=(\d+)/.exec(rest);
    const nothing = /^\(nothing within (\d+)ms\)/.exec(rest);
    if (direction === "C->S") {
      current.steps.push({ kind: "send", client, frame: binary ? Buffer.from(binary[1]!, "hex") : rest });
    } else if (close) {
      current.steps.push({ kind: "expect-close", client, code: Number(close[1]) });
    } else if (nothing) {
      current.steps.push({ kind: "expect-nothing", client, ms: Number(nothing[1]) });
    } else {
      current.steps.push({ kind: "expect", client, frame: binary ? Buffer.from(binary[1]!, "hex") : rest });
    }
  }
  return sections;
}

/**
 * Normalises a text frame for comparison: values that differ on every run (`phx_ref`,
 * `phx_ref_prev`, `online_at`) are masked and object keys sorted (the reference server's JSON
 * library sorts map keys; we keep the order the handler produced, which JSON does not fix).
 */
export function normalizeFrame(text: string): string {
  try {
    return JSON.stringify(canonical(JSON.parse(text)));
  } catch {
    return text;
  }
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const inner = (value as Record<string, unknown>)[key];
      out[key] = key === "phx_ref" || key === "phx_ref_prev" || key === "online_at" ? "<masked>" : canonical(inner);
    }
    return out;
  }
  return value;
}
