/**
 * A few values held as the value itself while there is one, and as a Set (insertion order) from
 * the second: most members are in one topic and most rooms have one member on a node, and a Set
 * costs ≈ 150 B of heap even for one value. Undefined is empty; a value is never a Set itself.
 */
export type OneOrSet<T> = T | Set<T>;

export function isSet<T>(values: OneOrSet<T>): values is Set<T> {
  return values instanceof Set;
}

/** `values` with `value` added (a Set in place), or undefined when it holds `value` already. */
export function withValue<T>(values: OneOrSet<T> | undefined, value: T): OneOrSet<T> | undefined {
  if (values === undefined) return value;
  if (!isSet(values)) return values === value ? undefined : new Set([values, value]);
  if (values.has(value)) return undefined;
  return values.add(value);
}

/** `values` without `value` (a Set in place; undefined once empty), or false when it did not hold `value`. */
export function withoutValue<T>(values: OneOrSet<T> | undefined, value: T): OneOrSet<T> | undefined | false {
  if (values === undefined) return false;
  if (!isSet(values)) return values === value ? undefined : false;
  if (!values.delete(value)) return false;
  return values.size === 0 ? undefined : values;
}

export function valuesOf<T>(values: OneOrSet<T> | undefined): T[] {
  if (values === undefined) return [];
  return isSet(values) ? [...values] : [values];
}

export function countOf<T>(values: OneOrSet<T> | undefined): number {
  if (values === undefined) return 0;
  return isSet(values) ? values.size : 1;
}
