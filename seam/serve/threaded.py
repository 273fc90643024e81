"""ThreadedServer: uvicorn serving an app on a background thread (tests, the load benchmark, notebooks)."""

from __future__ import annotations

import threading
import time

import uvicorn
from fastapi import FastAPI


class ThreadedServer:
    """`with ThreadedServer(app) as server:` serves `app` on 127.0.0.1 (a free port unless one is given)
    until the block ends; `server.url` is its address, e.g. http://127.0.0.1:41234."""

    def __init__(self, app: FastAPI, host: str = "127.0.0.1", port: int = 0, log_level: str = "warning"):
        self.host = host
        self.server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level=log_level, lifespan="on"))
        self._thread: threading.Thread | None = None
        self.port = port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 60.0) -> "ThreadedServer":
        self._thread = threading.Thread(target=self._serve, name="seam-uvicorn", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"The server did not start on {self.host}:{self.port}.")
            time.sleep(0.01)
        self.port = self.server.servers[0].sockets[0].getsockname()[1]
        return self

    def _serve(self) -> None:
        try:
            self.server.run()
        except SystemExit:  # uvicorn exits when the app fails to start (start() reports it)
            pass

    def wait(self) -> None:
        """Block until the server stops (a process that only serves)."""
        if self._thread is not None:
            self._thread.join()

    def stop(self, timeout: float = 60.0) -> None:
        self.server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def __enter__(self) -> "ThreadedServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
