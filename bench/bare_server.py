"""The yardstick of case 6: a bare FastAPI app on uvicorn, with the two routes the case calls
on `aos serve`, that do nothing but read the JSON body and answer a small JSON object.

    python bare_server.py     # prints its port, serves until stdin closes
"""

from __future__ import annotations

import asyncio
import sys
import threading
from typing import Any

import uvicorn
from fastapi import FastAPI

app = FastAPI()


@app.post("/v1/runs", status_code=202)
def submit(body: dict[str, Any]) -> dict[str, Any]:
    return {"run_id": "bare", "status": "queued"}


@app.post("/v1/skills/{name}/execute")
def execute(name: str, body: dict[str, Any]) -> dict[str, Any]:
    return {"ok": True, "output": None}


def main() -> None:
    config = uvicorn.Config(app, host="127.0.0.1", port=0, access_log=False, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)

    async def serve() -> None:
        serving = asyncio.ensure_future(server.serve())
        while not server.started:
            await asyncio.sleep(0.01)
        print(server.servers[0].sockets[0].getsockname()[1], flush=True)  # the port it bound, as aos serve does
        await serving

    def stop_on_eof() -> None:
        sys.stdin.read()
        server.should_exit = True

    threading.Thread(target=stop_on_eof, daemon=True).start()
    asyncio.run(serve())


if __name__ == "__main__":
    main()
