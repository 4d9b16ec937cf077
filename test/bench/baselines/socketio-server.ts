/**
 * What users would pick instead: socket.io 4 with the Redis adapter (classic pub/sub, what most
 * deployments run); backends publish with @socket.io/redis-emitter.
 */
import { Redis } from "ioredis";
import { Server } from "socket.io";
import { createAdapter } from "@socket.io/redis-adapter";

const port = Number(process.env.PORT);
const pub = new Redis(process.env.REDIS_URL!);
const sub = pub.duplicate();
const io = new Server({ transports: ["websocket"], adapter: createAdapter(pub, sub) });
io.on("connection", (socket) => {
  socket.on("join", (topic: string, ack?: (status: string) => void) => {
    void socket.join(topic);
    ack?.("ok");
  });
});
io.listen(port);
process.stdout.write("listening\n");
