#!/usr/bin/env python3
"""A webhook receiver fast enough not to be what a delivery rate measures.

    python bench/webhook_receiver.py       # prints its port, then serves until killed

One asyncio process answering HTTP/1.1 with keep-alive, as the dispatcher sends. Every POST is
answered 204 at once and noted with its arrival time; the event's own timestamp is read from
the body only when asked for. `GET /arrivals` answers [[arrival, event timestamp], ...] (seconds
since the epoch), `GET /count` their number, `DELETE /arrivals` forgets them. The threaded
http.server receiver it replaced ran a thread per connection inside the benchmark's own
process, sharing the GIL with the requests that made the events.
"""

import asyncio
import json
import time
from datetime import datetime

arrivals: list[tuple[float, bytes]] = []
NO_CONTENT = b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n"


def _answer(body: bytes) -> bytes:
    return (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
        + str(len(body)).encode()
        + b"\r\n\r\n"
        + body
    )


def _arrivals() -> bytes:
    pairs = [
        [arrived, datetime.fromisoformat(json.loads(body)["timestamp"]).timestamp()]
        for arrived, body in arrivals
    ]
    return json.dumps(pairs).encode()


async def _serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            request_line, *header_lines = head.decode("latin-1").split("\r\n")
            method, path, _version = request_line.split(" ", 2)
            length = 0
            for line in header_lines:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            body = await reader.readexactly(length) if length else b""
            if method == "POST":
                arrivals.append((time.time(), body))
                writer.write(NO_CONTENT)
            elif path == "/count":
                writer.write(_answer(str(len(arrivals)).encode()))
            elif method == "DELETE":
                arrivals.clear()
                writer.write(NO_CONTENT)
            else:
                writer.write(_answer(_arrivals()))
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def main() -> None:
    listener = await asyncio.start_server(_serve, "127.0.0.1", 0, backlog=1024)
    print(listener.sockets[0].getsockname()[1], flush=True)
    async with listener:
        await listener.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
