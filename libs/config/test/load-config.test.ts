import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { loadConfig, type Config, type LoadOptions } from "@switchboard/config";

const dir = mkdtempSync(join(tmpdir(), "switchboard-config-"));
after(() => rmSync(dir, { recursive: true, force: true }));

let fileCount = 0;
function tomlFile(contents: string, name = "tangram.toml"): string {
  // A fresh directory per file keeps the basename (it appears in error messages).
  const sub = join(dir, String(++fileCount));
  mkdirSync(sub);
  const path = join(sub, name);
  writeFileSync(path, contents);
  return path;
}

function load(options: LoadOptions): { config: Config; warnings: string[] } {
  const result = loadConfig(options);
  assert.ok(result.ok, `expected a config, got errors: ${result.ok ? "" : result.errors.join(" | ")}`);
  return result;
}

function errorsOf(options: LoadOptions): string[] {
  const result = loadConfig(options);
  assert.ok(!result.ok, "expected errors");
  return result.errors;
}

const SECRET = "0123456789abcdef0123456789abcdef";

describe("defaults", () => {
  test("an empty environment gives the documented defaults", () => {
    const { config, warnings } = load({ env: {} });
    assert.equal(config.port, 4000);
    assert.equal(config.host, "127.0.0.1");
    assert.equal(config.redisUrl, undefined);
    assert.equal(config.redisKeyPrefix, "sb:");
    assert.deepEqual(config.jwtAlgorithms, ["HS256"]);
    assert.equal(config.tokenTtlSeconds, 14400);
    assert.equal(config.tokenEndpoint, "open");
    assert.equal(config.publicUrl, "http://127.0.0.1:4000");
    assert.deepEqual(config.allowedOrigins, ["http://127.0.0.1:4000", "http://localhost:4000"]);
    assert.equal(config.maxChannelsPerSocket, 100);
    assert.equal(config.maxFrameBytes, 10 * 1024 * 1024);
    assert.equal(config.idleTimeoutMs, 60_000);
    assert.equal(config.sendQueueBytes, 8 * 1024 * 1024);
    assert.equal(config.pushRatePerSecond, 100);
    assert.equal(config.maxConnectionsPerIp, 0);
    assert.equal(config.maxTopicBytes, 255);
    assert.equal(config.maxEventBytes, 255);
    assert.equal(config.maxForwardPayloadBytes, 65536);
    assert.equal(config.longPollWindowMs, 20_000);
    assert.equal(config.longPollSessionTimeoutMs, 15_000);
    assert.equal(config.longPollMaxBatch, 100);
    assert.equal(config.drainWindowMs, 10_000);
    assert.equal(config.exampleRooms, true);
    assert.deepEqual(config.bridgePatterns, ["*"]);
    assert.deepEqual(config.envelopePatterns, []);
    assert.deepEqual(config.recoveryPatterns, []);
    assert.equal(config.historyMaxLength, 1000);
    assert.equal(config.historyTtlSeconds, 300);
    assert.equal(config.systemTickMs, 1000);
    assert.equal(config.logLevel, "info");
    assert.equal(config.webRoot, undefined);
    assert.match(config.nodeId, new RegExp(`-${process.pid}$`));
    assert.match(config.jwtSecret, /^[0-9a-f]{64}$/);
    assert.ok(warnings.some((warning) => warning.includes("JWT_SECRET") && warning.includes("restart")));
    assert.ok(warnings.some((warning) => warning.includes("TOKEN_ENDPOINT is open")));
  });

  test("each start without a secret gets a different random one", () => {
    assert.notEqual(load({ env: {} }).config.jwtSecret, load({ env: {} }).config.jwtSecret);
  });

  test("the config is frozen, lists included", () => {
    const { config } = load({ env: {} });
    assert.ok(Object.isFrozen(config));
    assert.ok(Object.isFrozen(config.allowedOrigins));
    assert.throws(() => Object.assign(config, { port: 1 }), TypeError);
  });

  test("public URL and origins follow host and port; a wildcard bind address is not a browser origin", () => {
    assert.equal(load({ env: { HOST: "0.0.0.0", PORT: "4100" } }).config.publicUrl, "http://127.0.0.1:4100");
    assert.equal(load({ env: { HOST: "::1", PORT: "4100" } }).config.publicUrl, "http://[::1]:4100");
    const { config } = load({ env: { PUBLIC_URL: "https://chat.example.com/", PORT: "4100" } });
    assert.equal(config.publicUrl, "https://chat.example.com");
    assert.deepEqual(config.allowedOrigins, ["https://chat.example.com", "http://localhost:4100", "http://127.0.0.1:4100"]);
  });
});

describe("env vars", () => {
  test("every kind of value is parsed", () => {
    const { config, warnings } = load({
      env: {
        PORT: " 4321 ",
        REDIS_URL: "redis://127.0.0.1:6390/0",
        NODE_ID: "node-a",
        JWT_SECRET: SECRET,
        JWT_ALGORITHMS: "HS256, HS512",
        JWT_ISSUER: "issuer",
        JWT_AUDIENCE: "audience",
        TOKEN_ENDPOINT: "off",
        ALLOWED_ORIGINS: "https://App.Example.com:443, http://localhost:5173,",
        EXAMPLE_ROOMS: "off",
        BRIDGE_PATTERNS: "tangram:*,system",
        LOG_LEVEL: "debug",
        WEB_ROOT: "apps/web/public",
      },
    });
    assert.equal(config.port, 4321);
    assert.equal(config.redisUrl, "redis://127.0.0.1:6390/0");
    assert.equal(config.nodeId, "node-a");
    assert.equal(config.jwtSecret, SECRET);
    assert.deepEqual(config.jwtAlgorithms, ["HS256", "HS512"]);
    assert.equal(config.jwtIssuer, "issuer");
    assert.equal(config.jwtAudience, "audience");
    assert.equal(config.tokenEndpoint, "off");
    assert.deepEqual(config.allowedOrigins, ["https://app.example.com", "http://localhost:5173"]);
    assert.equal(config.exampleRooms, false);
    assert.deepEqual(config.bridgePatterns, ["tangram:*", "system"]);
    assert.equal(config.logLevel, "debug");
    assert.equal(config.webRoot, "apps/web/public");
    assert.deepEqual(warnings, [], "an explicit secret and a closed endpoint need no warning");
  });

  test("booleans accept true/false/1/0/on/off in any case", () => {
    for (const [word, value] of [["true", true], ["FALSE", false], ["1", true], ["0", false], ["On", true], ["off", false]] as const) {
      assert.equal(load({ env: { EXAMPLE_ROOMS: word } }).config.exampleRooms, value, word);
    }
  });

  test("an empty variable counts as unset", () => {
    const { config } = load({ env: { PORT: "", JWT_SECRET: "  ", ALLOWED_ORIGINS: "" } });
    assert.equal(config.port, 4000);
    assert.match(config.jwtSecret, /^[0-9a-f]{64}$/);
    assert.equal(config.allowedOrigins.length, 2);
  });

  test("parse errors name the variable and the bad value, all at once", () => {
    const errors = errorsOf({
      env: { PORT: "abc", IDLE_TIMEOUT_MS: "1.5", MAX_TOPIC_BYTES: "300", EXAMPLE_ROOMS: "maybe", TOKEN_ENDPOINT: "closed", LOG_LEVEL: "loud" },
    });
    assert.deepEqual(errors, [
      'env PORT: expected a whole number, got "abc"',
      'env TOKEN_ENDPOINT: expected one of open, protected, off, got "closed"',
      'env IDLE_TIMEOUT_MS: expected a whole number, got "1.5"',
      'env MAX_TOPIC_BYTES: expected at most 255, got "300"',
      'env EXAMPLE_ROOMS: expected true/false/1/0/on/off, got "maybe"',
      'env LOG_LEVEL: expected one of fatal, error, warn, info, debug, trace, silent, got "loud"',
    ]);
  });

  test('alg "none" is refused at load, and so are algorithms that need a key pair', () => {
    assert.deepEqual(errorsOf({ env: { JWT_ALGORITHMS: "HS256,none" } }), [
      'env JWT_ALGORITHMS: item 2: "none" is refused: it would accept unsigned tokens, got "none"',
    ]);
    assert.match(errorsOf({ env: { JWT_ALGORITHMS: "RS256" } })[0], /^env JWT_ALGORITHMS: item 1: expected one of HS256, HS384, HS512/);
    assert.match(errorsOf({ env: { JWT_ALGORITHMS: "," } })[0], /^env JWT_ALGORITHMS: expected at least 1 item/);
  });

  test("origins must be bare origins; URLs must have the right scheme; patterns follow the claim grammar", () => {
    assert.match(errorsOf({ env: { ALLOWED_ORIGINS: "https://a.example.com/app" } })[0], /^env ALLOWED_ORIGINS: item 1: expected "\*" or an origin/);
    assert.match(errorsOf({ env: { REDIS_URL: "localhost:6379" } })[0], /^env REDIS_URL: expected a redis\/rediss\/unix URL/);
    assert.match(errorsOf({ env: { PUBLIC_URL: "ws://x" } })[0], /^env PUBLIC_URL: expected a http\/https URL/);
    assert.match(errorsOf({ env: { BRIDGE_PATTERNS: "rooms:*:x" } })[0], /^env BRIDGE_PATTERNS: item 1: expected "\*", an exact topic, or "prefix:\*"/);
    assert.match(errorsOf({ env: { NODE_ID: "node a" } })[0], /^env NODE_ID: expected 1–128 characters/);
    assert.deepEqual(errorsOf({ env: { HOST: "http://x:1" } }), ['env HOST: expected a hostname or an IP address, got "http://x:1"']);
  });

  test('"*" allows any origin', () => {
    assert.deepEqual(load({ env: { ALLOWED_ORIGINS: "*" } }).config.allowedOrigins, ["*"]);
  });
});

describe("token endpoint modes", () => {
  test("protected without an admin secret is an error", () => {
    assert.deepEqual(errorsOf({ env: { TOKEN_ENDPOINT: "protected" } }), [
      "TOKEN_ENDPOINT is protected but ADMIN_SECRET ([switchboard].admin_secret) is not set",
    ]);
  });

  test("protected with an admin secret loads without the open-endpoint warning", () => {
    const { config, warnings } = load({ env: { TOKEN_ENDPOINT: "protected", ADMIN_SECRET: "admin-secret-value", JWT_SECRET: SECRET } });
    assert.equal(config.tokenEndpoint, "protected");
    assert.equal(config.adminSecret, "admin-secret-value");
    assert.deepEqual(warnings, []);
  });
});

describe("TOML file", () => {
  const TANGRAM_EXAMPLE = `
[core]
redis_url = "redis://localhost:6379"
plugins = ["tangram_jet1090", "tangram_system"]

[server]
host = "0.0.0.0"
port = 2346

[channel]
host = "0.0.0.0"
port = 2347
public_url = "http://localhost:2347"
jwt_secret = "a-better-secret-than-this"
jwt_expiration_secs = 315360000

[plugins.tangram_jet1090]
jet1090_channel = "jet1090"
`;

  test("a tangram.toml with a [channel] section just works; other sections are ignored", () => {
    const { config, warnings } = load({ env: {}, file: tomlFile(TANGRAM_EXAMPLE) });
    assert.equal(config.host, "0.0.0.0");
    assert.equal(config.port, 2347);
    assert.equal(config.publicUrl, "http://localhost:2347");
    assert.equal(config.jwtSecret, "a-better-secret-than-this");
    assert.equal(config.tokenTtlSeconds, 315360000);
    assert.equal(config.redisUrl, "redis://localhost:6379", "the backends' Redis from [core]");
    assert.ok(warnings.some((warning) => warning.includes("315360000 s")), "10-year tokens are worth a warning");
    assert.ok(warnings.some((warning) => warning.includes("bytes")), "a 25-byte secret is worth a warning");
  });

  test("without a port in the file, our default 4000 applies (not tangram's 2347)", () => {
    assert.equal(load({ env: {}, file: tomlFile('[channel]\njwt_secret = "s"\n') }).config.port, 4000);
  });

  test("env wins over the file", () => {
    const file = tomlFile('[channel]\nport = 2347\n\n[switchboard]\nmax_channels_per_socket = 5\nlog_level = "warn"\n');
    const { config } = load({ env: { PORT: "4555", LOG_LEVEL: "error" }, file });
    assert.equal(config.port, 4555);
    assert.equal(config.logLevel, "error");
    assert.equal(config.maxChannelsPerSocket, 5);
  });

  test("the file path can come from SWITCHBOARD_CONFIG", () => {
    const file = tomlFile("[switchboard]\nport = 4777\n");
    assert.equal(load({ env: { SWITCHBOARD_CONFIG: file } }).config.port, 4777);
  });

  test("[switchboard] takes typed TOML values, lists as arrays or comma strings", () => {
    const file = tomlFile(`
[switchboard]
example_rooms = false
allowed_origins = ["https://a.example.com", "https://b.example.com:8443"]
envelope_patterns = "orders:*, chat:*"
token_endpoint = "protected"
admin_secret = "s3cret-admin"
long_poll_window_ms = 5000
`);
    const { config } = load({ env: {}, file });
    assert.equal(config.exampleRooms, false);
    assert.deepEqual(config.allowedOrigins, ["https://a.example.com", "https://b.example.com:8443"]);
    assert.deepEqual(config.envelopePatterns, ["orders:*", "chat:*"]);
    assert.equal(config.tokenEndpoint, "protected");
    assert.equal(config.longPollWindowMs, 5000);
  });

  test("[switchboard] overrides [channel], with a warning when they disagree", () => {
    const { config, warnings } = load({ env: {}, file: tomlFile("[channel]\nport = 2347\n\n[switchboard]\nport = 4001\n") });
    assert.equal(config.port, 4001);
    assert.ok(warnings.some((warning) => warning.endsWith("[switchboard].port overrides [channel].port")), warnings.join("|"));
  });

  test("errors name the file and the key", () => {
    const file = tomlFile('[channel]\nport = "2347"\n\n[switchboard]\nexample_rooms = "yes"\njwt_algorithms = ["none"]\n');
    const errors = errorsOf({ env: {}, file });
    assert.deepEqual(errors, [
      `${file}: [channel].port: expected a number, got "2347"`,
      `${file}: [switchboard].jwt_algorithms: item 1: "none" is refused: it would accept unsigned tokens, got "none"`,
      `${file}: [switchboard].example_rooms: expected true or false, got "yes"`,
    ]);
    assert.ok(errors.every((error) => error.includes("tangram.toml: [")));
  });

  test("a broken file line is reported even while env overrides it", () => {
    const file = tomlFile('[channel]\nport = "x"\n');
    assert.deepEqual(errorsOf({ env: { PORT: "4000" }, file }), [`${file}: [channel].port: expected a number, got "x"`]);
  });

  test("unknown [switchboard] keys are errors, with a hint for a near miss", () => {
    const file = tomlFile("[switchboard]\nmax_chanels_per_socket = 3\ncolour = 1\n");
    assert.deepEqual(errorsOf({ env: {}, file }), [
      `${file}: [switchboard].max_chanels_per_socket: unknown option (did you mean max_channels_per_socket?)`,
      `${file}: [switchboard].colour: unknown option`,
    ]);
  });

  test("odd TOML values (inf, dates, tables) are reported as they were written", () => {
    const file = tomlFile("[channel]\nport = inf\nhost = 1979-05-27T07:32:00Z\n\n[switchboard]\nexample_rooms = { x = 1 }\n");
    assert.deepEqual(errorsOf({ env: {}, file }), [
      `${file}: [channel].port: expected a number, got Infinity`,
      `${file}: [channel].host: expected a string, got "1979-05-27T07:32:00.000Z"`,
      `${file}: [switchboard].example_rooms: expected true or false, got {"x":1}`,
    ]);
  });

  test("a secret is never echoed in an error", () => {
    const file = tomlFile("[channel]\njwt_secret = 12345678\n");
    const errors = errorsOf({ env: {}, file });
    assert.deepEqual(errors, [`${file}: [channel].jwt_secret: expected a string`]);
  });

  test("syntax errors give file, line and column; a missing file says so", () => {
    const broken = tomlFile("[channel]\nport = \n");
    assert.match(errorsOf({ env: {}, file: broken })[0], new RegExp(`^${escape(broken)}:2:\\d+: invalid TOML`));
    assert.deepEqual(errorsOf({ env: {}, file: join(dir, "absent.toml") }), [`${join(dir, "absent.toml")}: cannot read config file (ENOENT)`]);
    assert.deepEqual(errorsOf({ env: {}, file: tomlFile("switchboard = 1\n") }).map((error) => error.split(": ").slice(1).join(": ")), [
      "[switchboard]: expected a table",
    ]);
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
