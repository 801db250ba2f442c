"""The baseline for the trigger benchmark: a bare Starlette endpoint answering 202, served the same
way (`python -m scripts.bare_app`, uvicorn, one process, no access log)."""

from __future__ import annotations

import os

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


async def events(request: Request) -> JSONResponse:
    await request.body()
    return JSONResponse({"job_run": "bare"}, status_code=202)


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


app = Starlette(routes=[Route("/events", events, methods=["POST"]), Route("/healthz", healthz)])

if __name__ == "__main__":
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=int(os.environ["PORT"]),
        access_log=False,
        log_level="warning",
        http="h11",  # as the trigger is served (trigger/__main__.py)
    )
