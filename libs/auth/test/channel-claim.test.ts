import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { channelAllowed, isAdminClaim, isChannelPattern } from "@switchboard/auth";

describe("channelAllowed", () => {
  test("an exact claim allows exactly that topic", () => {
    assert.equal(channelAllowed("rooms:lobby", "rooms:lobby"), true);
    assert.equal(channelAllowed("rooms:lobby", "rooms:lobby2"), false);
    assert.equal(channelAllowed("rooms:lobby", "rooms"), false);
    assert.equal(channelAllowed("system", "system"), true);
    assert.equal(channelAllowed("", ""), false);
  });

  test("prefix:* allows every topic below the prefix, nothing beside it", () => {
    assert.equal(channelAllowed("rooms:*", "rooms:a"), true);
    assert.equal(channelAllowed("rooms:*", "rooms:a:b"), true);
    assert.equal(channelAllowed("rooms:*", "rooms"), false);
    assert.equal(channelAllowed("rooms:*", "rooms:"), false);
    assert.equal(channelAllowed("rooms:*", "roomsX"), false);
    assert.equal(channelAllowed("rooms:*", "roomsX:a"), false);
    assert.equal(channelAllowed("rooms:*", "other:rooms:a"), false);
    assert.equal(channelAllowed("a:b:*", "a:b:c"), true);
    assert.equal(channelAllowed("a:b:*", "a:c"), false);
    assert.equal(channelAllowed(":*", ":x"), false, "an empty prefix is not a wildcard");
  });

  test('"*" alone allows every topic, admin included', () => {
    for (const topic of ["rooms:a", "admin", "system", "x"]) assert.equal(channelAllowed("*", topic), true);
  });

  test("a list allows what any entry allows", () => {
    const claim = ["system", "rooms:*"];
    assert.equal(channelAllowed(claim, "system"), true);
    assert.equal(channelAllowed(claim, "rooms:a"), true);
    assert.equal(channelAllowed(claim, "admin"), false);
    assert.equal(channelAllowed([], "system"), false);
  });

  test("a star anywhere but the end is literal, never a wildcard", () => {
    assert.equal(channelAllowed("rooms*", "roomsX"), false);
    assert.equal(channelAllowed("*:a", "x:a"), false);
  });

  test("property: prefix:* allows prefix:<anything non-empty> and never the prefix itself or a sibling", () => {
    const segment = fc.string({ minLength: 1, maxLength: 12 }).filter((text) => !text.includes("*"));
    fc.assert(
      fc.property(segment, fc.string({ minLength: 1, maxLength: 20 }), fc.string({ maxLength: 3 }), (prefix, rest, sibling) => {
        assert.equal(channelAllowed(`${prefix}:*`, `${prefix}:${rest}`), true);
        assert.equal(channelAllowed(`${prefix}:*`, prefix), false);
        if (sibling.length > 0 && !sibling.startsWith(":")) assert.equal(channelAllowed(`${prefix}:*`, `${prefix}${sibling}`), false);
      }),
    );
  });
});

describe("admin and pattern grammar", () => {
  test("admin tokens are tokens whose claim allows the admin topic", () => {
    assert.equal(isAdminClaim("admin"), true);
    assert.equal(isAdminClaim("*"), true);
    assert.equal(isAdminClaim(["rooms:*", "admin"]), true);
    assert.equal(isAdminClaim("admin:*"), false);
    assert.equal(isAdminClaim("rooms:*"), false);
  });

  test("isChannelPattern accepts *, exact topics and prefix:*", () => {
    for (const ok of ["*", "rooms:lobby", "rooms:*", "a:b:*", "system"]) assert.equal(isChannelPattern(ok), true, ok);
    for (const bad of ["", ":*", "rooms*", "*:a", "a:*:b", "a b", "**"]) assert.equal(isChannelPattern(bad), false, bad);
  });
});
