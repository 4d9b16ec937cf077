import { z } from "zod";

/**
 * How one kind of option value is read. Env vars are always strings and need coercion; TOML
 * values arrive typed, so a TOML `port = "80"` is an error rather than a silent conversion.
 * Messages are written for the person editing the file or the env, not for a developer.
 */
export interface ValueType<T> {
  /** Short human summary for the reference table, e.g. "integer 1–65535". */
  readonly summary: string;
  readonly fromEnv: z.ZodType<T, string>;
  readonly fromToml: z.ZodType<T>;
  /** Secrets are never echoed back in errors or in the reference table. */
  readonly secret?: boolean;
  /** Renders a default for the reference table. */
  format(value: T): string;
}

const WHOLE_NUMBER = /^-?\d+$/;
const TRUE_WORDS = new Set(["true", "1", "on", "yes"]);
const FALSE_WORDS = new Set(["false", "0", "off", "no"]);

export function integer(min: number, max: number): ValueType<number> {
  const bounded = z
    .number({ error: "expected a number" })
    .int({ error: "expected a whole number" })
    .min(min, { error: `expected at least ${min}` })
    .max(max, { error: `expected at most ${max}` });
  return {
    summary: max === Number.MAX_SAFE_INTEGER ? `integer ≥ ${min}` : `integer ${min}–${max}`,
    fromEnv: z.string().trim().regex(WHOLE_NUMBER, { error: "expected a whole number" }).transform(Number).pipe(bounded),
    fromToml: bounded,
    format: String,
  };
}

export const boolean: ValueType<boolean> = {
  summary: "boolean (true/false/1/0/on/off)",
  fromEnv: z
    .string()
    .trim()
    .toLowerCase()
    .refine((word) => TRUE_WORDS.has(word) || FALSE_WORDS.has(word), { error: "expected true/false/1/0/on/off" })
    .transform((word) => TRUE_WORDS.has(word)),
  fromToml: z.boolean({ error: "expected true or false" }),
  format: String,
};

export function text(options: { secret?: boolean; pattern?: RegExp; patternHint?: string } = {}): ValueType<string> {
  let schema = z.string({ error: "expected a string" }).trim().min(1, { error: "expected a non-empty string" });
  if (options.pattern) schema = schema.regex(options.pattern, { error: options.patternHint ?? "invalid format" });
  return {
    summary: options.secret ? "secret string" : "string",
    fromEnv: schema,
    fromToml: schema,
    secret: options.secret,
    format: (value) => (options.secret ? "(hidden)" : JSON.stringify(value)),
  };
}

export function oneOf<const V extends readonly [string, ...string[]]>(values: V): ValueType<V[number]> {
  const schema = z.enum(values, { error: `expected one of ${values.join(", ")}` });
  return {
    summary: values.map((value) => `"${value}"`).join(" | "),
    fromEnv: z.string().trim().pipe(schema),
    fromToml: schema,
    format: (value) => JSON.stringify(value),
  };
}

/** A URL with one of the given schemes, kept as written minus a trailing slash. */
export function url(schemes: readonly string[]): ValueType<string> {
  const schema = z
    .string({ error: "expected a string" })
    .trim()
    .refine((value) => schemes.includes(parseUrl(value)?.protocol.slice(0, -1) ?? ""), {
      error: `expected a ${schemes.join("/")} URL`,
    })
    .transform((value) => value.replace(/\/+$/, ""));
  return { summary: `${schemes.join("/")} URL`, fromEnv: schema, fromToml: schema, format: (value) => JSON.stringify(value) };
}

/**
 * A list: a comma-separated string in env, a TOML array (or a comma string) in the file.
 * Empty items are dropped so `a,b,` is not a typo trap.
 */
export function list<T>(item: z.ZodType<T, string>, options: { summary: string; minItems?: number }): ValueType<readonly T[]> {
  const items = z.array(item).min(options.minItems ?? 0, { error: `expected at least ${options.minItems} item(s)` });
  const splitComma = (value: unknown) => (typeof value === "string" ? splitList(value) : value);
  return {
    summary: options.summary,
    fromEnv: z.string().transform(splitList).pipe(items),
    fromToml: z.preprocess(splitComma, z.array(z.string({ error: "expected a string" }), { error: "expected an array or a comma-separated string" }).pipe(items)),
    format: (value) => (value.length === 0 ? "(empty)" : value.join(",")),
  };
}

export function splitList(value: string): string[] {
  return value
    .split(",")
    .map((part) => part.trim())
    .filter((part) => part.length > 0);
}

export function parseUrl(value: string): URL | undefined {
  try {
    return new URL(value);
  } catch {
    return undefined;
  }
}
