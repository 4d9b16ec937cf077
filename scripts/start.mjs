#!/usr/bin/env node
// `npm start`: one gateway and the bridge from the TypeScript sources (no build step), with a
// private redis-server when REDIS_URL is unset. The launcher itself is TypeScript, so tsx is
// registered in this process rather than adding a process in between that signals must cross.
import { register } from "tsx/esm/api";

register();
await import("../tools/dev/start.ts");
