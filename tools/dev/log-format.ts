/** pino's numeric levels, as a terminal reader knows them. */
const LEVEL_NAMES: Readonly<Record<number, string>> = { 10: "TRACE", 20: "DEBUG", 30: "INFO", 40: "WARN", 50: "ERROR", 60: "FATAL" };
/** Fields every line carries or the prefix already shows. */
const HIDDEN_FIELDS = new Set(["level", "time", "msg", "pid", "hostname", "service", "node"]);

/**
 * One output line of a child, readable in a terminal: pino JSON becomes `time LEVEL msg key=value`,
 * anything else (a stack trace, tsx watch's own notices) passes unchanged; the process name leads.
 */
export function formatLine(name: string, line: string, width: number): string {
  return `${name.padEnd(width)} | ${prettyPino(line) ?? line}`;
}

function prettyPino(line: string): string | undefined {
  if (!line.startsWith("{")) return undefined;
  let record: unknown;
  try {
    record = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof record !== "object" || record === null || !("level" in record) || !("msg" in record)) return undefined;
  const fields = record as Record<string, unknown>;
  const time = typeof fields.time === "number" ? new Date(fields.time).toISOString().slice(11, 23) : "";
  const level = (LEVEL_NAMES[Number(fields.level)] ?? String(fields.level)).padEnd(5);
  const extra = Object.entries(fields)
    .filter(([key]) => !HIDDEN_FIELDS.has(key))
    .map(([key, value]) => `${key}=${typeof value === "string" ? value : JSON.stringify(value)}`);
  return [time, level, String(fields.msg), ...extra].join(" ");
}
