import { OPTIONS, tomlName, type OptionKey } from "./options.ts";

export interface OptionDescription {
  readonly key: OptionKey;
  readonly env: string;
  /** Key in the TOML file, e.g. `[switchboard].port`. */
  readonly toml: string;
  /** Accepted values, e.g. "integer 0–65535". */
  readonly type: string;
  /** Default as text; "(unset)" when the option is optional. */
  readonly default: string;
  readonly description: string;
}

/** Every option with its env var, TOML key, default and meaning (for READMEs and the Helm chart). */
export function describeConfig(): OptionDescription[] {
  return (Object.keys(OPTIONS) as OptionKey[]).map((key) => {
    const spec = OPTIONS[key];
    const given = spec.default;
    let defaultText: string;
    if (given.kind === "none") defaultText = "(unset)";
    else if (given.kind === "derived") defaultText = given.text;
    // The table is homogeneous per option, but TypeScript cannot correlate OPTIONS[key]'s type and value.
    else defaultText = (spec.type.format as (value: unknown) => string)(given.value);
    return { key, env: spec.env, toml: `[switchboard].${tomlName(key)}`, type: spec.type.summary, default: defaultText, description: spec.description };
  });
}

/** The options as a Markdown table. */
export function describeConfigMarkdown(): string {
  const cell = (text: string) => text.replaceAll("|", "\\|").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
  const rows = describeConfig().map(
    (option) => `| \`${option.env}\` | \`${option.toml.replace("[switchboard].", "")}\` | ${cell(option.type)} | ${cell(option.default)} | ${cell(option.description)} |`,
  );
  return ["| env | `[switchboard]` key | type | default | meaning |", "| --- | --- | --- | --- | --- |", ...rows].join("\n");
}
