/** One sample of a Prometheus text exposition: `name{label="v",...} value`. */
export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

const SAMPLE_LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
const LABEL_PAIR = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/**
 * The samples of a /metrics answer whose names pass `wanted`; comments, unparsable lines and
 * values that are not numbers are skipped, so a new metric family never breaks the dashboard.
 */
export function parseSamples(text: string, wanted: (name: string) => boolean): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split("\n")) {
    if (line.startsWith("#")) continue;
    const match = SAMPLE_LINE.exec(line);
    if (!match || !wanted(match[1]!)) continue;
    const value = Number(match[3]);
    if (Number.isNaN(value)) continue;
    const labels: Record<string, string> = {};
    for (const [, key, raw] of (match[2] ?? "").matchAll(LABEL_PAIR)) labels[key!] = unescapeLabel(raw!);
    samples.push({ name: match[1]!, labels, value });
  }
  return samples;
}

function unescapeLabel(raw: string): string {
  return raw.replace(/\\(["\\n])/g, (_, char: string) => (char === "n" ? "\n" : char));
}

/** Sum of every sample of one family (all label sets), or undefined when the family is absent. */
export function total(samples: readonly Sample[], name: string): number | undefined {
  const matching = samples.filter((sample) => sample.name === name);
  return matching.length === 0 ? undefined : matching.reduce((sum, sample) => sum + sample.value, 0);
}
