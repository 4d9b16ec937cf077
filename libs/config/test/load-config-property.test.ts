import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { describeConfig, loadConfig } from "@switchboard/config";

const ENV_NAMES = describeConfig().map((option) => option.env);

test("property: any env gives a config or one error line per bad variable, never a throw", () => {
  const value = fc.oneof(fc.string({ maxLength: 30 }), fc.integer().map(String), fc.constantFrom("true", "off", "HS256,none", "*", "http://x:1", "0", "-1"));
  fc.assert(
    fc.property(fc.dictionary(fc.constantFrom(...ENV_NAMES), value), (env) => {
      const result = loadConfig({ env });
      if (result.ok) {
        assert.ok(Object.isFrozen(result.config));
        return;
      }
      assert.ok(result.errors.length > 0);
      for (const error of result.errors) {
        assert.doesNotMatch(error, /\n/, "one line per problem");
        const named = ENV_NAMES.some((name) => error.includes(name));
        assert.ok(named, `error names a variable: ${error}`);
      }
    }),
    { numRuns: 1000 },
  );
});
