"""Durability: SIGKILL the server in the middle of a burst of writes, restart it, and nothing answered is lost.

The server is its own process (tests/serve_tiny.py: conftest's seeded tiny Llama, the same model on every
start) over one memory directory. Several users write turns as fast as the server answers; after a number
of answers the process is killed with SIGKILL while other requests are in flight. A new process over the
same directory must load every memory file, and each user's memory must hold every turn the client got
an answer for (the write is on disk before the answer is sent), plus at most the one turn in flight.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import openai
import pytest
from openai import OpenAI

from seam.memory import load_states

KEY = "fault-key"
HELPER = Path(__file__).resolve().parent / "serve_tiny.py"
REPO = HELPER.parent.parent


class ServerProcess:
    def __init__(self, memory_dir: Path, port_file: Path):
        port_file.unlink(missing_ok=True)
        env = {**os.environ, "HF_HUB_OFFLINE": "1"}
        self.process = subprocess.Popen(
            [sys.executable, str(HELPER), "--memory-dir", str(memory_dir), "--port-file", str(port_file), "--api-key", KEY],
            cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 120
        while not port_file.is_file():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.process.kill()
                raise RuntimeError("the server did not start: " + self.process.stderr.read().decode()[-3000:])
            time.sleep(0.05)
        self.url = f"http://127.0.0.1:{port_file.read_text()}"

    def client(self) -> OpenAI:
        return OpenAI(base_url=self.url + "/v1", api_key=KEY, max_retries=0, timeout=30)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(30)


@pytest.fixture
def servers(tmp_path) -> Iterator[list[ServerProcess]]:
    started: list[ServerProcess] = []
    yield started
    for server in started:
        server.kill()


def turn(client: OpenAI, user: str, k: int) -> None:
    client.chat.completions.create(model="seam-tiny-llama", user=user, max_tokens=3,
                                   messages=[{"role": "user", "content": f"Turn {k}: my dog is called Rex and I like green tea."}],
                                   extra_headers={"Idempotency-Key": f"{user}-{k}"})


def test_sigkill_during_a_burst_of_writes_loses_no_answered_turn_and_leaves_every_file_readable(servers, tmp_path):
    memory_dir, port_file = tmp_path / "memory", tmp_path / "port"
    servers.append(ServerProcess(memory_dir, port_file))
    server = servers[0]
    users = [f"user{i}" for i in range(6)]
    answered = dict.fromkeys(users, 0)
    attempted = dict.fromkeys(users, 0)
    total = threading.Semaphore(0)
    stop = threading.Event()

    def writer(user: str) -> None:
        client = server.client()
        for k in range(200):
            if stop.is_set():
                return
            attempted[user] += 1
            try:
                turn(client, user, k)
            except (openai.APIConnectionError, openai.APIStatusError):
                return  # the server is gone
            answered[user] += 1
            total.release()

    with ThreadPoolExecutor(len(users)) as pool:
        for user in users:
            pool.submit(writer, user)
        for _ in range(40):  # let 40 turns be answered, then kill with requests in flight
            assert total.acquire(timeout=60), "the burst stalled"
        server.kill()
        stop.set()
    assert sum(answered.values()) >= 40
    assert sum(attempted.values()) > sum(answered.values()), "some requests were in flight at the kill"

    files = sorted(memory_dir.glob("*.safetensors"))
    assert {f.stem for f in files} == set(users)
    for path in files:  # every memory file is whole and valid (a write interrupted by the kill leaves the old file)
        states, _ = load_states(path)
        assert len(states) == 2

    servers.append(ServerProcess(memory_dir, port_file))
    restarted = servers[1]
    assert not list(memory_dir.glob("*.tmp")), "the restarted server removes the killed one's unfinished writes"
    client = restarted.client()
    for user in users:
        written = client.get(f"/memory/{user}", cast_to=object)["turns_written"]
        assert answered[user] <= written <= attempted[user], (user, answered[user], written, attempted[user])
        turn(client, user, 1000)  # and the user goes on where they left off
        assert client.get(f"/memory/{user}", cast_to=object)["turns_written"] == written + 1
