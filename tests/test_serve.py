"""`seam serve` as a service: a real server on 127.0.0.1 around the tiny Llama, talked to with the real `openai` client.

Each test starts uvicorn on a free port in a thread (ThreadedServer) over a fresh memory directory; the
model is conftest's seeded tiny Llama with open gates (memory reads change replies). One slow test uses
the real SmolLM2 model with the shipped checkpoint.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx2
import openai
import pytest
import safetensors.torch
import torch
from conftest import first_greedy_tokens, open_gates
from openai import OpenAI

from seam.lm import ExperimentConfig, MemoryAugmentedModel
from seam.serve import MEMORY_HEADER, USER_HEADER, ServerConfig, ThreadedServer, create_app

KEY = "test-key"
MODEL = "seam-tiny-llama"
INTRO = "Hello! My name is Alice. Please remember my name."
QUESTION = "What is my name?"


pytestmark = pytest.mark.usefixtures("one_torch_thread")


class Running:
    """A server around a tiny model, with an openai client and a raw HTTP client for it."""

    def __init__(self, model: MemoryAugmentedModel, config: ServerConfig):
        self.model = model
        self.app = create_app(model, config)
        self.server = ThreadedServer(self.app).start()
        self.client = OpenAI(base_url=self.server.url + "/v1", api_key=KEY, max_retries=0, timeout=60)
        self.http = httpx2.Client(base_url=self.server.url, headers={"Authorization": f"Bearer {KEY}"}, timeout=60)

    @property
    def worker(self):
        return self.app.state.worker

    def chat(self, text: str, user: str | None, history: list[dict] | None = None, **kwargs):
        messages = [*(history or []), {"role": "user", "content": text}]
        kwargs = {"max_tokens": 6, **({"user": user} if user else {}), **kwargs}
        return self.client.chat.completions.create(model=MODEL, messages=messages, **kwargs)

    def stats(self, user: str) -> dict:
        return self.http.get(f"/v1/memory/{user}").raise_for_status().json()

    def items(self, user: str, layer: int | None = None) -> list[dict]:
        params = {} if layer is None else {"layer": layer}
        return self.http.get(f"/v1/memory/{user}/items", params=params).raise_for_status().json()["data"]

    def stop(self) -> None:
        self.http.close()
        self.client.close()
        self.server.stop()


@pytest.fixture
def start(tiny_llama, tmp_path):
    """start(memory_dir=None, **server_config) -> Running; every server is stopped at the end of the test."""
    running: list[Running] = []

    def _start(memory_dir: Path | None = None, **config) -> Running:
        model = tiny_llama.seam(memory_dir=str(memory_dir or tmp_path / "memory"))
        open_gates(model)
        r = Running(model, ServerConfig(**{"api_key": KEY, "default_max_tokens": 6, **config}))
        running.append(r)
        return r

    yield _start
    for r in running:
        r.stop()


def files(directory: Path) -> dict[str, bytes]:
    """The memory files in `directory`, by name."""
    return {p.name: p.read_bytes() for p in sorted(directory.glob("*.safetensors"))} if directory.is_dir() else {}


def tensors_of(file: bytes) -> dict[str, torch.Tensor]:
    return safetensors.torch.load(file)


def assert_same_tensors(actual: dict[str, torch.Tensor], expected: dict[str, torch.Tensor]) -> None:
    assert sorted(actual) == sorted(expected)
    for name, tensor in expected.items():
        assert torch.equal(actual[name], tensor), name


def message_tokens(model: MemoryAugmentedModel, *texts: str) -> set[str]:
    return {model.tokenizer.decode([t]) for text in texts for t in model.tokenizer(text, add_special_tokens=False)["input_ids"]}


# -- chat -----------------------------------------------------------------------------------------------------
def test_a_reply_comes_in_openai_format_with_usage_and_the_users_message_is_written_once(start):
    s = start()
    reply = s.chat(INTRO, "alice")
    assert reply.object == "chat.completion" and reply.model == MODEL and reply.id.startswith("chatcmpl-")
    (choice,) = reply.choices
    assert choice.message.role == "assistant" and isinstance(choice.message.content, str)
    assert choice.finish_reason in ("stop", "length")
    assert reply.usage.prompt_tokens > 0 and reply.usage.total_tokens == reply.usage.prompt_tokens + reply.usage.completion_tokens
    assert reply.model_extra["seam"]["memory"] == "on"
    written = len(s.model.tokenizer(INTRO, add_special_tokens=False)["input_ids"])
    assert reply.model_extra["seam"]["written_tokens"] == written
    stats = s.stats("alice")
    assert stats["turns_written"] == 1 and stats["file_bytes"] > 0
    assert {item["text"] for item in s.items("alice")} <= message_tokens(s.model, INTRO)


def test_earlier_messages_are_context_and_only_the_last_user_message_is_written(start):
    s = start()
    history = [{"role": "user", "content": "I live in Paris and I like green tea."}, {"role": "assistant", "content": "Nice!"}]
    with_history = s.chat(INTRO, "alice", history=history)
    alone = s.chat(INTRO, "bob")
    assert with_history.usage.prompt_tokens > alone.usage.prompt_tokens  # the history was in the prompt
    assert s.stats("alice")["turns_written"] == 1
    assert {item["text"] for item in s.items("alice")} == {item["text"] for item in s.items("bob")}  # only INTRO was written


def test_streaming_sends_openai_chunks_ending_with_done_and_the_same_reply(start):
    s = start()
    plain = s.chat(INTRO, "alice")
    chunks = list(s.chat(INTRO, "bob", stream=True, stream_options={"include_usage": True}))  # bob's memory starts as alice's did
    assert all(c.object == "chat.completion.chunk" and c.id == chunks[0].id for c in chunks)
    assert chunks[0].choices[0].delta.role == "assistant"
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == plain.choices[0].message.content
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == plain.choices[0].finish_reason
    assert chunks[-1].usage.completion_tokens == plain.usage.completion_tokens
    assert s.stats("bob")["turns_written"] == 1

    body = {"model": MODEL, "messages": [{"role": "user", "content": QUESTION}], "stream": True, "max_tokens": 4, "user": "carol"}
    with s.http.stream("POST", "/v1/chat/completions", json=body) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in response.iter_lines() if line]
    assert all(line.startswith("data: ") for line in lines)
    assert lines[-1] == "data: [DONE]"
    assert json.loads(lines[-2][6:])["choices"][0]["finish_reason"] in ("stop", "length")


def test_streaming_sends_the_reply_token_by_token_and_never_a_stop_sequence(start):
    s = start()
    plain = s.chat(INTRO, "alice", max_tokens=12).choices[0].message.content
    assert len(plain) >= 4  # (the seeded tiny model's reply)

    def streamed(user: str, **kwargs) -> list[str]:
        chunks = s.chat(INTRO, user, stream=True, max_tokens=12, **kwargs)
        return [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]

    pieces = streamed("bob")
    assert len(pieces) >= 3 and "".join(pieces) == plain  # several chunks, as the tokens came
    stop = plain[len(plain) // 2 : len(plain) // 2 + 2]
    assert "".join(streamed("carol", stop=[stop])) == plain[: plain.find(stop)]  # the stop (and what follows) is never sent


def test_a_streamed_turn_that_does_not_fit_gets_a_400_before_any_event(start):
    s = start()
    body = {"model": MODEL, "messages": [{"role": "user", "content": "word " * 5000}], "stream": True, "user": "alice"}
    response = s.http.post("/v1/chat/completions", json=body)
    assert response.status_code == 400 and response.json()["error"]["code"] == "context_length_exceeded"
    assert s.stats("alice")["turns_written"] == 0


def test_a_turn_that_fails_after_its_stream_started_ends_the_stream_with_an_error_and_writes_nothing(start):
    s = start()

    def fails_midway(*args, on_text=None, **kwargs):
        on_text(0, "Hel")  # the first text went out, then generation fails
        raise RuntimeError("the model broke")

    s.model.generate = fails_midway
    body = {"model": MODEL, "messages": [{"role": "user", "content": INTRO}], "stream": True, "user": "alice"}
    with s.http.stream("POST", "/v1/chat/completions", json=body) as response:
        assert response.status_code == 200
        events = [json.loads(line[6:]) for line in response.iter_lines() if line.startswith("data: ")]
    assert events[1]["choices"][0]["delta"]["content"] == "Hel"
    assert events[-1]["error"]["code"] == "server_error"  # no [DONE]: the client knows the answer is incomplete
    del s.model.generate
    assert s.stats("alice")["turns_written"] == 0


def test_two_users_are_kept_apart(start):
    s = start()
    untouched = s.chat(QUESTION, "bob").choices[0].message.content  # bob asks before anyone said anything
    dog = "My favourite colour is blue and my dog is called Rex."
    s.chat(INTRO, "alice")
    s.chat(dog, "alice")
    assert s.chat(QUESTION, "carol").choices[0].message.content == untouched  # alice's memory does not reach carol
    assert {item["text"] for item in s.items("alice")} <= message_tokens(s.model, INTRO, dog)
    assert {item["text"] for item in s.items("bob")} <= message_tokens(s.model, QUESTION)
    assert s.stats("alice")["turns_written"] == 2 and s.stats("bob")["turns_written"] == 1


def test_a_restart_keeps_both_users_memories_and_answers_as_before(start, tmp_path):
    first = start(tmp_path / "memory")
    for user, text in (("alice", INTRO), ("bob", "Hello! My name is Bob. Please remember my name."), ("alice", "I live in Paris.")):
        first.chat(text, user)
    shutil.copytree(tmp_path / "memory", tmp_path / "snapshot")  # what was on disk before the question below
    before = {u: first.chat(QUESTION, u).choices[0].message.content for u in ("alice", "bob")}
    exported = {u: tensors_of(first.http.get(f"/v1/memory/{u}/export").content) for u in ("alice", "bob")}
    stats = {u: first.stats(u) for u in ("alice", "bob")}
    first.stop()

    second = start(tmp_path / "memory")  # a new model and app over the same memory directory
    for user in ("alice", "bob"):
        assert_same_tensors(tensors_of(second.http.get(f"/v1/memory/{user}/export").content), exported[user])
    assert {u: second.stats(u) for u in ("alice", "bob")} == stats
    third = start(tmp_path / "snapshot")  # restarted from before the question: the same answers
    assert {u: third.chat(QUESTION, u).choices[0].message.content for u in ("alice", "bob")} == before


def test_a_second_server_over_the_same_memory_directory_is_refused_and_leftover_writes_are_removed(start, tmp_path):
    start(tmp_path / "memory")
    with pytest.raises(RuntimeError, match="did not start"):
        start(tmp_path / "memory")
    leftover = tmp_path / "other" / ".alice.safetensors.x1y2.tmp"  # what a write cut by SIGKILL leaves
    leftover.parent.mkdir()
    leftover.write_bytes(b"half a file")
    start(tmp_path / "other")
    assert not leftover.exists()


def test_a_request_without_a_user_gets_no_memory_and_says_so(start, tmp_path):
    s = start()
    raw = s.client.chat.completions.with_raw_response.create(model=MODEL, messages=[{"role": "user", "content": INTRO}], max_tokens=4)
    assert raw.headers[MEMORY_HEADER] == "off"
    assert raw.parse().model_extra["seam"] == {"user": None, "memory": "off", "reason": "the request names no user", "written_tokens": 0,
                                               "replayed": False, "ignored_system_messages": 0}
    bare = s.client.chat.completions.create(model="tiny-llama", messages=[{"role": "user", "content": INTRO}], user="alice", max_tokens=4)
    assert bare.model_extra["seam"]["memory"] == "off"
    assert files(tmp_path / "memory") == {}
    assert s.stats("alice")["turns_written"] == 0


def test_the_user_can_come_from_safety_identifier_or_the_header(start):
    s = start()
    s.client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": INTRO}], safety_identifier="alice", max_tokens=4)
    s.client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": INTRO}], extra_headers={USER_HEADER: "bob"},
                                     max_tokens=4)
    assert s.stats("alice")["turns_written"] == 1 and s.stats("bob")["turns_written"] == 1


def test_models_lists_the_memory_model_and_the_bare_base_model(start):
    s = start()
    assert [m.id for m in s.client.models.list()] == [MODEL, "tiny-llama"]


# -- idempotency ---------------------------------------------------------------------------------------------
def test_a_retried_request_with_the_same_idempotency_key_gets_the_same_answer_and_is_written_once(start, tmp_path):
    s = start()
    first = s.chat(INTRO, "alice", extra_headers={"Idempotency-Key": "k1"})
    on_disk = files(tmp_path / "memory")
    retry = s.chat(INTRO, "alice", extra_headers={"Idempotency-Key": "k1"})
    assert retry.id == first.id and retry.choices[0].message.content == first.choices[0].message.content
    assert retry.model_extra["seam"]["replayed"] is True and retry.model_extra["seam"]["written_tokens"] == 0
    assert files(tmp_path / "memory") == on_disk
    with ThreadPoolExecutor(4) as pool:  # retries racing the first attempt share it
        racing = list(pool.map(lambda _: s.chat("I live in Paris.", "alice", extra_headers={"Idempotency-Key": "k2"}), range(4)))
    assert len({r.id for r in racing}) == 1
    assert s.stats("alice")["turns_written"] == 2
    with pytest.raises(openai.UnprocessableEntityError) as refused:  # the same key with another body
        s.chat("Something else entirely.", "alice", extra_headers={"Idempotency-Key": "k1"})
    assert refused.value.body["code"] == "idempotency_key_reused"
    assert s.stats("alice")["turns_written"] == 2


def test_a_request_retried_after_a_restart_is_answered_from_its_receipt_and_not_written_again(start, tmp_path):
    first = start(tmp_path / "memory")
    answer = first.chat(INTRO, "alice", extra_headers={"Idempotency-Key": "k1"})
    streamed = "".join(c.choices[0].delta.content or "" for c in first.chat("I live in Paris.", "alice", stream=True,
                                                                             extra_headers={"Idempotency-Key": "k2"}) if c.choices)
    first.stop()  # (as after a crash: the receipts are in the memory file, written with the turns)

    second = start(tmp_path / "memory")
    on_disk = files(tmp_path / "memory")
    retry = second.chat(INTRO, "alice", extra_headers={"Idempotency-Key": "k1"})
    assert retry.choices[0].message.content == answer.choices[0].message.content
    assert retry.model_extra["seam"]["replayed"] is True and retry.model_extra["seam"]["written_tokens"] == 0
    again = "".join(c.choices[0].delta.content or "" for c in second.chat("I live in Paris.", "alice", stream=True,
                                                                          extra_headers={"Idempotency-Key": "k2"}) if c.choices)
    assert again == streamed
    assert files(tmp_path / "memory") == on_disk and second.stats("alice")["turns_written"] == 2
    with pytest.raises(openai.UnprocessableEntityError) as refused:  # the key with another body, after the restart too
        second.chat("Something else entirely.", "alice", extra_headers={"Idempotency-Key": "k1"})
    assert refused.value.body["code"] == "idempotency_key_reused"
    second.http.delete("/v1/memory/alice").raise_for_status()  # forgetting forgets the receipts too: the turn is new again
    second.chat(INTRO, "alice", extra_headers={"Idempotency-Key": "k1"})
    assert second.stats("alice")["turns_written"] == 1


# -- authentication and bad input ------------------------------------------------------------------------------
def test_every_api_route_needs_the_key_and_a_refusal_changes_nothing(start, tmp_path):
    s = start()
    s.chat(INTRO, "alice")
    on_disk = files(tmp_path / "memory")
    client = OpenAI(base_url=s.server.url + "/v1", api_key="wrong-key", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as refused:
        client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": INTRO}], user="alice")
    assert refused.value.status_code == 401 and refused.value.body["code"] == "invalid_api_key"
    with pytest.raises(openai.AuthenticationError):
        client.models.list()
    for key in (None, "wrong-key"):
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        routes = [("POST", "/v1/chat/completions"), ("GET", "/v1/models"), ("GET", "/v1/memory/alice"), ("GET", "/v1/memory/alice/items"),
                  ("POST", "/v1/memory/alice/decay"), ("DELETE", "/v1/memory/alice"), ("GET", "/v1/memory/alice/export"),
                  ("POST", "/v1/memory/alice/import")]
        for method, path in routes:
            content = json.dumps({"model": MODEL, "messages": [{"role": "user", "content": INTRO}], "user": "alice"}).encode()
            response = httpx2.request(method, s.server.url + path, headers=headers, content=content if method == "POST" else None)
            assert response.status_code == 401, path
            assert set(response.json()["error"]) == {"message", "type", "param", "code"}
    assert files(tmp_path / "memory") == on_disk
    assert httpx2.get(s.server.url + "/").status_code == 200  # the page holds no data; it asks for the key
    assert httpx2.get(s.server.url + "/health").status_code == 200


LONG = " ".join(["Please remember my name."] * 60)


def request(**fields) -> dict:
    """A valid request for alice with `fields` replaced (None: left out)."""
    body = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}], "user": "alice", **fields}
    return {k: v for k, v in body.items() if v is not None}


def said(*messages: tuple[str, object]) -> list[dict]:
    return [{"role": role, "content": content} for role, content in messages]


BAD_REQUESTS = {  # name: (body, status, param)
    "missing messages": (request(messages=None), 400, "messages"),
    "empty messages": (request(messages=[]), 400, "messages"),
    "unknown role": (request(messages=said(("robot", "hi"))), 400, "messages[0].role"),
    "tool role": (request(messages=said(("tool", "hi"))), 400, "messages[0].role"),
    "empty message": (request(messages=said(("user", "  "))), 400, "messages[0].content"),
    "missing content": (request(messages=[{"role": "user"}]), 400, "messages[0].content"),
    "last message not the user's": (request(messages=said(("user", "hi"), ("assistant", "yo"))), 400, "messages[1].role"),
    "message over the context": (request(messages=said(("user", LONG))), 400, "messages"),
    "reply over the context": (request(max_tokens=250), 400, "messages"),
    "invalid user id": (request(user="../etc"), 400, "user"),
    "empty user id": (request(user=""), 400, "user"),
    "two different users": (request(safety_identifier="bob"), 400, "user"),
    "messages not a list": (request(messages="hi"), 400, "messages"),
    "content a number": (request(messages=said(("user", 5))), 400, "messages[0].content"),
    "image content": (request(messages=said(("user", [{"type": "image_url", "image_url": {"url": "x"}}]))), 400,
                      "messages[0].content[0].type"),
    "max_tokens a string": (request(max_tokens="10"), 400, "max_tokens"),
    "max_tokens zero": (request(max_tokens=0), 400, "max_tokens"),
    "temperature a string": (request(temperature="hot"), 400, "temperature"),
    "temperature out of range": (request(temperature=3), 400, "temperature"),
    "stream a string": (request(stream="yes"), 400, "stream"),
    "user a number": (request(user=5), 400, "user"),
    "several choices": (request(n=2), 400, "n"),
    "min_tokens over max_tokens": (request(max_tokens=4, min_tokens=5), 400, "min_tokens"),
    "min_tokens negative": (request(min_tokens=-1), 400, "min_tokens"),
    "tools": (request(tools=[{"type": "function"}]), 400, "tools"),
    "unknown model": (request(model="gpt-4o"), 404, "model"),
}


def test_each_bad_input_gets_a_4xx_in_openai_format_and_changes_no_memory(start, tmp_path):
    s = start()
    s.chat(INTRO, "alice")
    on_disk, stats = files(tmp_path / "memory"), s.stats("alice")
    for name, (body, status, param) in BAD_REQUESTS.items():
        with pytest.raises(openai.APIStatusError) as refused:
            s.client.post("/chat/completions", body=body, cast_to=object)
        assert refused.value.status_code == status, name
        error = refused.value.body
        assert set(error) == {"message", "type", "param", "code"} and error["type"] == "invalid_request_error", name
        assert error["param"] == param, (name, error)
        assert error["message"], name
    for content, expected in ((b"{not json", 400), (b"[1, 2]", 400), (b"x" * (5 * 2**20), 413)):
        response = s.http.post("/v1/chat/completions", content=content, headers={"Content-Type": "application/json"})
        assert response.status_code == expected and set(response.json()["error"]) == {"message", "type", "param", "code"}
    assert s.http.get("/v1/no-such-route").json()["error"]["code"] == "unknown_url"
    assert files(tmp_path / "memory") == on_disk
    assert s.stats("alice") == stats


def test_min_tokens_holds_back_the_end_of_the_reply_until_that_many_tokens(start):
    s = start()
    s.model.base.generation_config.eos_token_id = first_greedy_tokens(s.model, [QUESTION])  # the reply would end at once
    assert s.chat(QUESTION, None, max_tokens=5).usage.completion_tokens <= 1
    held = s.chat(QUESTION, None, max_tokens=5, extra_body={"min_tokens": 4})
    assert held.usage.completion_tokens >= 4


def test_system_messages_are_accepted_and_left_out_of_the_prompt(start):
    s = start()
    with_system = s.client.chat.completions.create(
        model=MODEL, messages=[{"role": "system", "content": "You are a pirate."}, {"role": "user", "content": INTRO}], user="alice",
        max_tokens=4)
    plain = s.chat(INTRO, "bob", max_tokens=4)
    assert with_system.model_extra["seam"]["ignored_system_messages"] == 1
    assert with_system.usage.prompt_tokens == plain.usage.prompt_tokens


def test_a_stop_sequence_cuts_the_reply(start):
    s = start()
    full = s.chat(QUESTION, None, max_tokens=6).choices[0].message.content
    assert len(full) >= 2
    cut = s.chat(QUESTION, None, max_tokens=6, stop=[full[1:]]).choices[0]
    assert cut.message.content == full[:1] and cut.finish_reason == "stop"


# -- memory administration --------------------------------------------------------------------------------------
def test_memory_items_say_what_was_said_where_it_is_held_how_strong_how_surprising_and_how_old(start):
    s = start()
    s.chat(INTRO, "alice")
    s.chat("I live in Paris.", "alice")
    items = s.items("alice")
    layers = s.model.config.memory_layer_positions
    assert {item["layer"] for item in items} == set(layers)
    assert len(s.items("alice", layer=layers[0])) == len([i for i in items if i["layer"] == layers[0]])
    assert {item["where"] for item in items} == {"buffer", "store"}
    assert " Alice" in {item["text"] for item in items if item["age"] == 2}
    latest = {item["text"] for item in items if item["age"] == 1}
    assert latest and latest <= message_tokens(s.model, "I live in Paris.")
    for item in items:
        assert item["text"] == s.model.tokenizer.decode([item["token_id"]])
        assert 0 < item["strength"] <= 1 and item["age"] in (1, 2) and item["turn"] in (0, 1)
        if item["where"] == "store":
            assert isinstance(item["surprise_z"], float)
    stats = s.stats("alice")
    assert stats["items"] == len(items)
    assert stats["layers"][f"layer{layers[0]}"]["store_used"] == sum(1 for i in items if i["layer"] == layers[0] and i["where"] == "store")
    response = s.http.get("/v1/memory/alice/items", params={"layer": 99})
    assert response.status_code == 400 and "memory layer" in response.json()["error"]["message"]
    assert s.http.get("/v1/memory/alice/items", params={"layer": "top"}).status_code == 400


def test_decay_fades_the_buffer_and_persists_and_forget_empties_the_memory(start, tmp_path):
    s = start()
    s.chat(INTRO, "alice")
    rate = s.model.config.memory.decay_rate
    decayed = s.http.post("/v1/memory/alice/decay", json={"cycles": 3}).raise_for_status().json()
    for layer in decayed["layers"].values():
        assert layer["buffer_mean_strength"] == pytest.approx(rate**3, rel=1e-5)
    assert all(i["strength"] == pytest.approx(rate**3, abs=1e-4) for i in s.items("alice") if i["where"] == "buffer")
    assert s.model.users.read_file(tmp_path / "memory" / "alice.safetensors")[0].buffer_strength.max() == pytest.approx(rate**3)
    for bad in ({"cycles": -1}, {"cycles": "3"}, {"cycle": 3}):
        assert s.http.post("/v1/memory/alice/decay", json=bad).status_code == 400
    forgotten = s.http.delete("/v1/memory/alice").raise_for_status().json()
    assert forgotten["items"] == 0 and s.items("alice") == []
    assert s.model.users.read_file(tmp_path / "memory" / "alice.safetensors")[0].buffer_used.sum() == 0
    assert s.http.get("/v1/memory/..%2Fetc").status_code in (400, 404)
    assert s.http.get("/v1/memory/-x").status_code == 400


def test_export_then_import_gives_another_user_the_same_memory_and_a_bad_file_changes_nothing(start, tmp_path, tiny_llama):
    s = start()
    s.chat(INTRO, "alice")
    exported = s.http.get("/v1/memory/alice/export")
    assert exported.headers["content-type"] == "application/octet-stream" and exported.content
    s.chat("I live in Paris.", "bob")
    assert s.http.post("/v1/memory/bob/import", content=exported.content).status_code == 200
    assert s.items("bob") == s.items("alice")
    assert_same_tensors(tensors_of(s.http.get("/v1/memory/bob/export").content), tensors_of(exported.content))

    other = tiny_llama.seam(positions=[0, 3])  # a model with memory at other layers
    other.remember(INTRO, user="x")
    other.save_memory(tmp_path / "other.safetensors", user="x")
    good = exported.content
    header_size = int.from_bytes(good[:8], "little")
    header = json.loads(good[8 : 8 + header_size])
    header["__metadata__"]["shapes"] = header["__metadata__"]["shapes"].replace('"buffer_slots": 16', '"buffer_slots": 1000000000')
    huge = json.dumps(header).encode()
    hostile = {
        "empty": b"",
        "not safetensors": b"\x00\x01 definitely not a memory file",
        "truncated": good[:-50],
        "other layers": (tmp_path / "other.safetensors").read_bytes(),
        "claims a billion slots": len(huge).to_bytes(8, "little") + huge + good[8 + header_size :],
    }
    on_disk, items = files(tmp_path / "memory"), s.items("alice")
    for name, content in hostile.items():
        response = s.http.post("/v1/memory/alice/import", content=content)
        assert response.status_code == 400, name
        assert set(response.json()["error"]) == {"message", "type", "param", "code"}, name
    assert files(tmp_path / "memory") == on_disk
    assert s.items("alice") == items


# -- concurrency --------------------------------------------------------------------------------------------------
def test_users_share_forward_passes_one_users_turns_stay_in_order_and_the_event_loop_never_waits(start, monkeypatch):
    s = start(batch_window_ms=0)
    calls: list[list[str]] = []
    release = threading.Event()
    original = s.model.generate

    def held_generate(text, *args, user=None, **kwargs):
        calls.append(list(user))
        if len(calls) == 1:
            release.wait(30)  # hold the first batch while the others queue up
        return original(text, *args, user=user, **kwargs)

    monkeypatch.setattr(s.model, "generate", held_generate)
    order = [("alice", INTRO), ("alice", "I live in Paris."), ("bob", INTRO), ("carol", INTRO), ("alice", "Thank you very much.")]
    with ThreadPoolExecutor(len(order)) as pool:
        futures = []
        for i, (user, text) in enumerate(order):
            futures.append(pool.submit(s.chat, text, user))
            deadline = time.monotonic() + 10
            while len(calls) + s.worker.pending < i + 1 and time.monotonic() < deadline:
                time.sleep(0.005)  # submit in a known order
        started = time.monotonic()
        assert [m.id for m in s.client.models.list()] == [MODEL, "tiny-llama"]  # answered while the model is busy
        assert time.monotonic() - started < 2
        release.set()
        replies = [f.result(timeout=60) for f in futures]
    assert calls == [["alice"], ["alice", "bob", "carol"], ["alice"]]
    assert all(r.choices[0].message.content is not None for r in replies)
    assert s.stats("alice")["turns_written"] == 3
    assert list(s.worker.batch_sizes) == [1, 3, 1]


def test_a_burst_of_users_is_batched_and_every_turn_is_written(start):
    s = start(batch_window_ms=20, max_batch=8)
    users = [f"user{i}" for i in range(8)]
    model, batches = s.worker.model, []
    real = model.generate

    def recording(*args, **kwargs):
        batches.append(list(kwargs["user"]))
        return real(*args, **kwargs)

    model.generate = recording
    with ThreadPoolExecutor(len(users)) as pool:
        list(pool.map(lambda u: s.chat(f"Hello! My name is {u}.", u), users[::-1]))
    assert max(s.worker.batch_sizes) > 1
    assert all(b == sorted(b) for b in batches)  # rows in user order: the same users' next batch stacks without a copy
    assert sum(s.worker.batch_sizes) == len(users)
    assert all(s.stats(u)["turns_written"] == 1 for u in users)


# -- the real model -------------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_the_real_model_recalls_a_name_in_a_new_conversation_through_the_server(tmp_path):
    model = MemoryAugmentedModel.from_pretrained(ExperimentConfig(memory_dir=str(tmp_path / "memory")))
    with ThreadedServer(create_app(model, ServerConfig(api_key=KEY))) as server:
        client = OpenAI(base_url=server.url + "/v1", api_key=KEY, max_retries=0, timeout=300)
        intro = client.chat.completions.create(model="seam-smollm2-135m", user="alice", max_tokens=24,
                                               messages=[{"role": "user", "content": "Hello! My name is Alice. Please remember my name."}])
        assert intro.model_extra["seam"]["written_tokens"] > 0
        answer = client.chat.completions.create(model="seam-smollm2-135m", user="alice", max_tokens=12,
                                                messages=[{"role": "user", "content": "What is my name?"}])  # a new conversation
        assert "Alice" in answer.choices[0].message.content
        stranger = client.chat.completions.create(model="seam-smollm2-135m", user="bob", max_tokens=12,
                                                  messages=[{"role": "user", "content": "What is my name?"}])
        assert "Alice" not in stranger.choices[0].message.content
    assert (tmp_path / "memory" / "alice.safetensors").stat().st_size < 2**20
