// A presence node in its own process, for the tests that SIGKILL one. Arguments: Redis URL,
// key prefix, node id, topic, number of members to track. Prints "tracked" once its entries are
// published, then idles until killed.
import { startNode } from "./nodes.ts";

const [redisUrl, prefix, nodeId, topic, count] = process.argv.slice(2);
if (!redisUrl || !prefix || !nodeId || !topic || !count) throw new Error("usage: presence-process.ts <redis-url> <prefix> <node-id> <topic> <count>");

const node = startNode(redisUrl, prefix, nodeId);
await node.presence.whenReady();
for (let index = 0; index < Number(count); index += 1) node.presence.track(topic, `${nodeId}-s${index}`, `${nodeId}-u${index}`, {});
setTimeout(() => process.stdout.write("tracked\n"), 200);
setInterval(() => {}, 60_000);
