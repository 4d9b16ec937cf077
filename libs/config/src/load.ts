import type { z } from "zod";
import { OPTIONS, type Config, type OptionKey } from "./options.ts";
import { resolveConfig, type GivenValues } from "./resolve.ts";
import { readConfigFile, type RawValue } from "./toml-file.ts";
import { splitList } from "./value-types.ts";

export type LoadResult =
  | { readonly ok: true; readonly config: Config; readonly warnings: string[] }
  | { readonly ok: false; readonly errors: string[] };

export interface LoadOptions {
  /** Defaults to `process.env`. Empty values count as unset (a blank line in an env file). */
  env?: Readonly<Record<string, string | undefined>>;
  /** TOML file; defaults to env `SWITCHBOARD_CONFIG`, else no file. */
  file?: string;
}

/** The env var naming the TOML file when `file` is not passed. */
export const CONFIG_FILE_ENV = "SWITCHBOARD_CONFIG";
/** Long values are cut in error messages: enough to recognise, not a wall of text. */
const MAX_ECHOED_CHARS = 60;

/**
 * One typed, frozen config from env vars and an optional TOML file; env wins over the file.
 * Never throws for bad input: every problem is one line naming the env var or file key.
 */
export function loadConfig(options: LoadOptions = {}): LoadResult {
  const env = options.env ?? process.env;
  const errors: string[] = [];
  const warnings: string[] = [];
  const path = options.file ?? nonEmpty(env[CONFIG_FILE_ENV]);
  const fromFile = path === undefined ? undefined : readConfigFile(path);
  if (fromFile) {
    errors.push(...fromFile.errors);
    warnings.push(...fromFile.warnings);
  }

  const given: GivenValues = {};
  for (const key of Object.keys(OPTIONS) as OptionKey[]) {
    const spec = OPTIONS[key];
    const inFile = fromFile?.values.get(key);
    const inEnv = nonEmpty(env[spec.env]);
    const candidates: Array<[RawValue, z.ZodType<unknown>]> = [];
    if (inFile) candidates.push([inFile, spec.type.fromToml]);
    if (inEnv !== undefined) candidates.push([{ value: inEnv, source: `env ${spec.env}` }, spec.type.fromEnv]);
    // Both are validated, so a broken file line is reported even while env overrides it.
    for (const [raw, schema] of candidates) {
      const parsed = schema.safeParse(raw.value);
      if (parsed.success) Object.assign(given, { [key]: parsed.data });
      else errors.push(describeFailure(raw, parsed.error, spec.type.secret === true));
    }
  }
  if (errors.length > 0) return { ok: false, errors };

  const resolved = resolveConfig(given);
  if (!resolved.config) return { ok: false, errors: resolved.errors };
  return { ok: true, config: resolved.config, warnings: [...warnings, ...resolved.warnings] };
}

function describeFailure(raw: RawValue, error: z.ZodError, secret: boolean): string {
  const reasons = error.issues.map((issue) => {
    const index = issue.path.find((part) => typeof part === "number");
    if (index === undefined) return secret ? issue.message : `${issue.message}, got ${echo(raw.value)}`;
    const item = listItems(raw.value)[index];
    return `item ${index + 1}: ${issue.message}${secret ? "" : `, got ${echo(item)}`}`;
  });
  return `${raw.source}: ${[...new Set(reasons)].join("; ")}`;
}

function listItems(value: unknown): unknown[] {
  if (Array.isArray(value)) return value;
  return typeof value === "string" ? splitList(value) : [];
}

function echo(value: unknown): string {
  // JSON would print TOML's inf and nan as null.
  const text = typeof value === "number" ? String(value) : (JSON.stringify(value) ?? String(value));
  return text.length > MAX_ECHOED_CHARS ? `${text.slice(0, MAX_ECHOED_CHARS)}…` : text;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === "" ? undefined : value;
}
