/**
 * A few strings held as the string itself while there is one, and as a Set (insertion order)
 * from the second: most members are in one topic and most rooms have one member on a node, and a
 * Set costs ≈ 150 B of heap even for one value. Undefined is empty.
 */
export type OneOrSet = string | Set<string>;

/** `values` with `value` added (a Set in place), or undefined when it holds `value` already. */
export function withValue(values: OneOrSet | undefined, value: string): OneOrSet | undefined {
  if (values === undefined) return value;
  if (typeof values === "string") return values === value ? undefined : new Set([values, value]);
  if (values.has(value)) return undefined;
  return values.add(value);
}

/** `values` without `value` (a Set in place; undefined once empty), or false when it did not hold `value`. */
export function withoutValue(values: OneOrSet | undefined, value: string): OneOrSet | undefined | false {
  if (typeof values === "string") return values === value ? undefined : false;
  if (values === undefined || !values.delete(value)) return false;
  return values.size === 0 ? undefined : values;
}

export function valuesOf(values: OneOrSet | undefined): string[] {
  if (values === undefined) return [];
  return typeof values === "string" ? [values] : [...values];
}

export function countOf(values: OneOrSet | undefined): number {
  if (values === undefined) return 0;
  return typeof values === "string" ? 1 : values.size;
}
