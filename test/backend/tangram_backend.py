"""A backend plugin written the way tangram's users write them: redis-py, PUBLISH to:<topic>:<event>,
PSUBSCRIBE from:<topic>:*. The bridge suites run it against gateway + bridge to show the contract
holds for existing plugins unchanged.

  ping    -> to:<topic>:pong     {"echo": <payload>}
  bytes   -> to:<topic>:bytes    raw bytes 00 01 fe ff 'tangram' (a binary push)
  upload  -> to:<topic>:uploaded {"hex": <hex of the raw bytes received>}
  ask     -> reply:<topic>       answers an enveloped push (envelope mode)

Prints "ready" once subscribed; runs until terminated.
"""
import json
import sys

import redis

BINARY = b"\x00\x01\xfe\xfftangram"


def main(url: str) -> None:
    r = redis.Redis.from_url(url)
    pubsub = r.pubsub()
    pubsub.psubscribe("from:*")
    while pubsub.get_message(timeout=5) is None:
        pass
    print("ready", flush=True)

    for message in pubsub.listen():
        if message["type"] != "pmessage":
            continue
        channel = message["channel"].decode()
        topic, _, event = channel[len("from:"):].rpartition(":")
        data = message["data"]
        if event == "ping":
            r.publish(f"to:{topic}:pong", json.dumps({"echo": json.loads(data)}))
        elif event == "bytes":
            r.publish(f"to:{topic}:bytes", BINARY)
        elif event == "upload":
            r.publish(f"to:{topic}:uploaded", json.dumps({"hex": data.hex()}))
        elif event == "ask":
            envelope = json.loads(data)
            r.publish(
                f"reply:{topic}",
                json.dumps(
                    {
                        "socket": envelope["socket"],
                        "ref": envelope["ref"],
                        "join_ref": envelope["join_ref"],
                        "status": "ok",
                        "response": {"answer": envelope["payload"], "user": envelope["user"]},
                    }
                ),
            )


if __name__ == "__main__":
    main(sys.argv[1])
