import { readFileSync } from "node:fs";
import { parse, TomlError } from "smol-toml";
import { OPTIONS, tomlName, type OptionKey } from "./options.ts";
import { suggestName } from "./suggest.ts";

/** A value as written somewhere, with the label an error message should point at. */
export interface RawValue {
  readonly value: unknown;
  readonly source: string;
}

export interface FileValues {
  readonly values: Map<OptionKey, RawValue>;
  readonly errors: string[];
  readonly warnings: string[];
}

const OWN_SECTION = "switchboard";

/**
 * The keys of a tangram `tangram.toml` that mean the same thing for us. `[channel]` configures
 * tangram's channel server, which switchboard replaces; `[core].redis_url` is the Redis its
 * backend plugins publish to, so the bridge has to use it too. Every other tangram section and
 * key belongs to tangram and is left alone.
 */
const TANGRAM_KEYS: ReadonlyArray<{ section: string; key: string; option: OptionKey }> = [
  { section: "channel", key: "host", option: "host" },
  { section: "channel", key: "port", option: "port" },
  { section: "channel", key: "public_url", option: "publicUrl" },
  { section: "channel", key: "jwt_secret", option: "jwtSecret" },
  { section: "channel", key: "jwt_expiration_secs", option: "tokenTtlSeconds" },
  { section: "core", key: "redis_url", option: "redisUrl" },
];

const OWN_KEYS = new Map<string, OptionKey>(
  (Object.keys(OPTIONS) as OptionKey[]).map((key) => [tomlName(key), key]),
);

/** Reads one TOML file; `[switchboard]` wins over the tangram sections when both set an option. */
export function readConfigFile(path: string): FileValues {
  const values = new Map<OptionKey, RawValue>();
  const errors: string[] = [];
  const warnings: string[] = [];

  const document = parseFile(path);
  if (typeof document === "string") return { values, errors: [document], warnings };

  for (const { section, key, option } of TANGRAM_KEYS) {
    const table = document[section];
    if (isTable(table) && table[key] !== undefined) {
      values.set(option, { value: table[key], source: `${path}: [${section}].${key}` });
    }
  }

  const own = document[OWN_SECTION];
  if (own === undefined) return { values, errors, warnings };
  if (!isTable(own)) return { values, errors: [`${path}: [${OWN_SECTION}]: expected a table`], warnings };

  for (const [name, value] of Object.entries(own)) {
    const key = OWN_KEYS.get(name);
    if (key === undefined) {
      const hint = suggestName(name, OWN_KEYS.keys());
      errors.push(`${path}: [${OWN_SECTION}].${name}: unknown option${hint ? ` (did you mean ${hint}?)` : ""}`);
      continue;
    }
    const tangram = values.get(key);
    if (tangram !== undefined && !sameValue(tangram.value, value)) {
      warnings.push(`${path}: [${OWN_SECTION}].${name} overrides ${tangram.source.slice(path.length + 2)}`);
    }
    values.set(key, { value, source: `${path}: [${OWN_SECTION}].${name}` });
  }
  return { values, errors, warnings };
}

/** The parsed document, or an error line (no stack, no code excerpt: the position says enough). */
function parseFile(path: string): Record<string, unknown> | string {
  let source: string;
  try {
    source = readFileSync(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "unreadable";
    return `${path}: cannot read config file (${code})`;
  }
  try {
    return parse(source);
  } catch (error) {
    if (error instanceof TomlError) {
      const reason = error.message.split("\n", 1)[0];
      return `${path}:${error.line}:${error.column}: invalid TOML: ${reason}`;
    }
    throw error;
  }
}

function isTable(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function sameValue(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
