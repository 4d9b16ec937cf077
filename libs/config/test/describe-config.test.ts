import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { describeConfig, describeConfigMarkdown, loadConfig } from "@switchboard/config";
import { README_PATH, replaceGeneratedTable } from "../scripts/readme-table.ts";

test("every config key is described, with a unique env var and a default", () => {
  const loaded = loadConfig({ env: {} });
  assert.ok(loaded.ok);
  const described = describeConfig();
  assert.deepEqual(described.map((option) => option.key).sort(), Object.keys(loaded.config).sort());
  assert.equal(new Set(described.map((option) => option.env)).size, described.length);
  for (const option of described) {
    assert.ok(option.description.length > 10, option.key);
    assert.ok(option.default.length > 0, option.key);
    assert.match(option.toml, /^\[switchboard\]\.[a-z_]+$/);
  }
  const port = described.find((option) => option.key === "port");
  assert.deepEqual(
    port && { env: port.env, toml: port.toml, default: port.default },
    { env: "PORT", toml: "[switchboard].port", default: "4000" },
  );
});

test("secrets have no default shown", () => {
  const secret = describeConfig().find((option) => option.key === "jwtSecret");
  assert.equal(secret?.default, "random per start (warning)");
});

test("the README table is up to date (node --import tsx libs/config/scripts/write-readme.ts)", () => {
  const readme = readFileSync(README_PATH, "utf8");
  assert.equal(replaceGeneratedTable(readme, describeConfigMarkdown()), readme);
});
