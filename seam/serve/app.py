"""The HTTP layer of `seam serve`: OpenAI-compatible chat completions with per-user memory, memory routes, the page.

Routes (all under /v1 need `Authorization: Bearer <key>` when the server has a key):

    POST   /v1/chat/completions          OpenAI chat completions (stream or not); the user comes from the body's
                                         `user` or `safety_identifier`, or the X-SEAM-User header
    GET    /v1/models                    seam-<base> (with memory) and <base> (the bare base model, no memory)
    GET    /v1/memory/{user}             stats: items per layer, buffer/store fill, surprise statistics, turns, file size
    GET    /v1/memory/{user}/items       what is held: token text, buffer or store, strength, surprise z, turn, age
    POST   /v1/memory/{user}/decay       {"cycles": n}: let time pass (the buffer fades, the store keeps)
    DELETE /v1/memory/{user}             forget everything the user said
    GET    /v1/memory/{user}/export      the user's memory file (safetensors)
    POST   /v1/memory/{user}/import      replace the user's memory with a file (checked; a bad file changes nothing)
    GET    /                             the chat page with the memory panel (static files, no data, no key needed)
    GET    /health                       liveness, queue length, batch counts and model time (no key needed, no user data)

Memory semantics for clients that resend the whole conversation: the earlier messages are context, only
the last user message is written, once, after the reply; a retry with the same Idempotency-Key header
gets the first answer and writes nothing, even after a restart (the key is saved with the memory it
changed, in the same atomic write). A request without a user gets no memory: the response's
X-SEAM-Memory header is `off` and its `seam.memory` field says why.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import Future
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..lm.model import MemoryAugmentedModel
from ..lm.users import check_user
from . import memory_view
from .config import IDEMPOTENCY_HEADER, MEMORY_HEADER, USER_HEADER, ServerConfig
from .errors import APIError, bad_request, from_validation_error, idempotency_key_reused
from .memory_dir import claim_memory_dir, remove_stale_temp_files
from .schemas import ChatCompletionRequest, DecayRequest
from .worker import ChatResult, ChatTurn, ModelWorker

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"


def model_ids(model: MemoryAugmentedModel) -> tuple[str, str]:
    """(id with memory, id of the bare base model) as /v1/models lists them, e.g. ('seam-smollm2-135m', 'smollm2-135m')."""
    name = Path(model.config.model_name).name
    name = name[: -len(".gguf")] if name.endswith(".gguf") else name
    return f"seam-{name}", name


@dataclass
class _Answer:
    """A chat request's answer, kept for retries with the same idempotency key."""

    id: str
    created: int
    result: ChatResult


class IdempotencyCache:
    """Answers of requests that carried an Idempotency-Key, per user; a retry awaits or replays the first.

    Lives on the event loop (no locks needed). A key reused with another request body is refused (422).
    """

    def __init__(self, size: int):
        self.size = size
        self._entries: OrderedDict[tuple[str | None, str], tuple[str, asyncio.Future]] = OrderedDict()

    def claim(self, user: str | None, key: str | None, fingerprint: str,
              start: Callable[[], Awaitable[_Answer]]) -> tuple[asyncio.Future, bool]:
        """(the answer's future, replayed): the first request with a key runs `start`; later ones with that key
        share its future (await it shielded: one client leaving does not cancel another's answer)."""
        if key is None:
            return asyncio.ensure_future(start()), False
        if not 1 <= len(key) <= 255:
            raise bad_request(f"The {IDEMPOTENCY_HEADER} header must be 1-255 characters.", IDEMPOTENCY_HEADER)
        slot = (user, key)
        if slot in self._entries:
            seen, task = self._entries[slot]
            if seen != fingerprint:
                raise idempotency_key_reused(IDEMPOTENCY_HEADER)
            self._entries.move_to_end(slot)
            return task, True
        task = asyncio.ensure_future(start())
        self._entries[slot] = (fingerprint, task)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)

        def forget_failure(done: asyncio.Future) -> None:  # a failed request wrote nothing: a retry may run again
            if (done.cancelled() or done.exception() is not None) and self._entries.get(slot, (None, None))[1] is done:
                del self._entries[slot]

        task.add_done_callback(forget_failure)
        return task, False

    def forget(self, user: str) -> None:
        """Drop the user's answered keys (their memory was cleared or replaced, and with it its receipts)."""
        for slot in [slot for slot in self._entries if slot[0] == user]:
            del self._entries[slot]


def visible_text(text: str, stops: list[str]) -> str:
    """What of a growing reply can be streamed: cut at the first stop sequence; without one, all but the
    tail that could still become one (it is sent once the next tokens show it is not)."""
    cut = min((text.find(s) for s in stops if s in text), default=-1)
    if cut >= 0:
        return text[:cut]
    hold = max((len(s) - 1 for s in stops), default=0)
    return text[: len(text) - hold] if hold else text


async def _result(future: Future, bad_input: tuple[type[Exception], ...] = (ValueError, TypeError)) -> Any:
    """The worker's result; a ValueError/TypeError from a memory operation is the client's bad input (400)."""
    try:
        return await asyncio.wrap_future(future)
    except APIError:
        raise
    except bad_input as err:
        raise bad_request(str(err)) from err


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise APIError(413, f"The request body is {declared} bytes; this server accepts at most {limit}.", code="request_too_large")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise APIError(413, f"The request body exceeds {limit} bytes.", code="request_too_large")
        chunks.append(chunk)
    return b"".join(chunks)


def _parse(model: type[BaseModel], raw: bytes, empty_ok: bool = False) -> Any:
    if not raw.strip() and empty_ok:
        data: Any = {}
    else:
        try:
            data = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise bad_request("We could not parse the JSON body of your request. (HINT: This likely means you aren't using your "
                              "HTTP library correctly. The API expects a JSON payload.)", code="invalid_json") from None
    if not isinstance(data, dict):
        raise bad_request("The request body must be a JSON object.", code="invalid_type")
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise from_validation_error(err) from None


def _user(user: str) -> str:
    try:
        return check_user(user)
    except ValueError as err:
        raise bad_request(str(err), "user") from None


def _request_user(request: Request, body: ChatCompletionRequest) -> str | None:
    """The user the request names (body `user`, `safety_identifier` or the X-SEAM-User header), None for none."""
    named = {v for v in (body.user, body.safety_identifier, request.headers.get(USER_HEADER)) if v is not None}
    if len(named) > 1:
        raise bad_request(f"user, safety_identifier and the {USER_HEADER} header name different users ({sorted(named)}); "
                          "name one user.", "user")
    return _user(named.pop()) if named else None


def create_app(model: MemoryAugmentedModel, config: ServerConfig | None = None) -> FastAPI:
    """The server around `model` (its memory_dir, if set, is where users' memories persist).

    The model's worker thread starts and stops with the app (its lifespan); build the model with
    `ExperimentConfig(memory_dir=...)` for memory that survives a restart.
    """
    config = config or ServerConfig()
    worker = ModelWorker(model, config)
    idempotency = IdempotencyCache(config.idempotency_cache)
    seam_id, bare_id = model_ids(model)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        memory_dir = model.users.memory_dir
        lock = claim_memory_dir(memory_dir) if memory_dir is not None else None
        if memory_dir is not None:
            remove_stale_temp_files(memory_dir)
        worker.start()
        try:
            yield
        finally:
            await asyncio.to_thread(worker.stop)
            if lock is not None:
                lock.close()

    app = FastAPI(title="SEAM", description="OpenAI-compatible chat with per-user SEAM memory", lifespan=lifespan)
    app.state.worker = worker
    app.state.config = config

    # -- errors: OpenAI's format for every refusal -------------------------------------------------------
    @app.exception_handler(APIError)
    async def _api_error(request: Request, err: APIError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if err.status == 401 else None
        return JSONResponse(err.body(), status_code=err.status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, err: RequestValidationError) -> JSONResponse:
        first = err.errors()[0]
        param = ".".join(str(p) for p in first["loc"][1:]) or None
        return JSONResponse(bad_request(f"Invalid '{param}': {first['msg']}.", param).body(), status_code=400)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, err: StarletteHTTPException) -> JSONResponse:
        message = f"Invalid URL ({request.method} {request.url.path})" if err.status_code in (404, 405) else str(err.detail)
        code = {404: "unknown_url", 405: "method_not_allowed"}.get(err.status_code)
        return JSONResponse(APIError(err.status_code, message, code=code).body(), status_code=err.status_code)

    @app.exception_handler(Exception)
    async def _server_error(request: Request, err: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse(APIError(500, "The server had an error while processing your request.", code="server_error").body(),
                            status_code=500)

    # -- authentication ----------------------------------------------------------------------------------
    def require_key(request: Request) -> None:
        if config.api_key is None:
            return
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise APIError(401, "You didn't provide an API key. You need to provide your API key in an Authorization header using "
                           "Bearer auth (i.e. Authorization: Bearer YOUR_KEY).", code="missing_api_key")
        if not hmac.compare_digest(token.strip().encode(), config.api_key.encode()):
            raise APIError(401, "Incorrect API key provided.", code="invalid_api_key")

    api = APIRouter(prefix="/v1", dependencies=[Depends(require_key)])

    # -- chat ----------------------------------------------------------------------------------------------
    @api.get("/models")
    async def list_models() -> dict:
        created = int(time.time())
        return {"object": "list", "data": [
            {"id": seam_id, "object": "model", "created": created, "owned_by": "seam"},
            {"id": bare_id, "object": "model", "created": created, "owned_by": "seam"},
        ]}

    @api.post("/chat/completions")
    async def chat_completions(request: Request) -> Response:
        raw = await _read_body(request, config.max_request_bytes)
        body = _parse(ChatCompletionRequest, raw)
        body.refuse_unsupported()
        model_id = body.model or seam_id
        if model_id not in (seam_id, bare_id):
            raise APIError(404, f"The model `{model_id}` does not exist. This server has `{seam_id}` (with memory) and `{bare_id}` "
                           "(the base model alone).", "model", "model_not_found")
        asked = body.max_completion_tokens or body.max_tokens
        if asked is not None and asked > config.max_tokens_limit:
            param = "max_completion_tokens" if body.max_completion_tokens else "max_tokens"
            raise bad_request(f"{param} is {asked}; this server allows at most {config.max_tokens_limit}.", param)
        if body.min_tokens and body.min_tokens > (asked or config.default_max_tokens):
            raise bad_request(f"min_tokens ({body.min_tokens}) is more than the reply may have ({asked or config.default_max_tokens} "
                              "tokens).", "min_tokens")
        user = _request_user(request, body)
        history, text, ignored = body.conversation()
        memory_user = user if model_id == seam_id else None
        temperature = config.default_temperature if body.temperature is None else float(body.temperature)
        stops = body.stops()
        loop = asyncio.get_running_loop()
        updates: asyncio.Queue[str] = asyncio.Queue()  # the reply so far, as the worker generates it (streaming only)

        def on_text(text: str) -> None:  # runs on the worker thread
            loop.call_soon_threadsafe(updates.put_nowait, text)

        fingerprint = hashlib.sha256(json.dumps(json.loads(raw), sort_keys=True).encode()).hexdigest()
        key = request.headers.get(IDEMPOTENCY_HEADER)
        turn = ChatTurn(memory_user, text, history, asked, temperature, 1.0 if body.top_p is None else float(body.top_p), stops,
                        client=user, turn_id=key if memory_user else None, fingerprint=fingerprint,
                        on_text=on_text if body.stream else None, min_tokens=body.min_tokens or 0)

        async def start() -> _Answer:
            result = await _result(worker.submit_turn(turn), bad_input=())
            return _Answer(f"chatcmpl-{uuid.uuid4().hex}", int(time.time()), result)

        task, replayed = idempotency.claim(user, key, fingerprint, start)
        headers = {MEMORY_HEADER: "on" if memory_user else "off"}

        def seam_info(result: ChatResult) -> dict:
            reason = None if memory_user else ("the bare base model was asked" if user else "the request names no user")
            again = replayed or result.replayed  # answered before: in this process, or written before a restart
            return {"user": user, "memory": headers[MEMORY_HEADER], "reason": reason,
                    "written_tokens": 0 if again else result.written_tokens, "replayed": again,
                    "ignored_system_messages": ignored}

        def usage(result: ChatResult) -> dict:
            return {"prompt_tokens": result.prompt_tokens, "completion_tokens": result.completion_tokens,
                    "total_tokens": result.prompt_tokens + result.completion_tokens}

        if not body.stream:
            answer = await asyncio.shield(task)
            result = answer.result
            return JSONResponse({
                "id": answer.id, "object": "chat.completion", "created": answer.created, "model": model_id, "system_fingerprint": None,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": result.reply, "refusal": None},
                             "logprobs": None, "finish_reason": result.finish_reason}],
                "usage": usage(result), "seam": seam_info(result),
            }, headers=headers)

        # Streaming: nothing is sent until the reply's first text or its end, so a refused turn (e.g. over the
        # context) still gets its 4xx; then the text goes out as the worker generates it, token by token.
        first = asyncio.ensure_future(updates.get())
        await asyncio.wait({first, task}, return_when=asyncio.FIRST_COMPLETED)
        started = first.done() or not updates.empty()  # text came before the end (its hand-over may still be under way)
        if task.done() and task.exception() is not None and not started:
            first.cancel()
            raise task.exception()
        include_usage = bool(body.stream_options and body.stream_options.include_usage)
        stream_id, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())

        def chunk(delta: dict, finish: str | None = None, **extra: Any) -> bytes:
            data = {"id": stream_id, "object": "chat.completion.chunk", "created": created, "model": model_id,
                    "system_fingerprint": None, "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
                    **extra}
            return f"data: {json.dumps(data)}\n\n".encode()

        async def events() -> AsyncIterator[bytes]:
            pending = first
            yield chunk({"role": "assistant", "content": ""})
            sent = ""
            try:
                while True:
                    if not pending.done():
                        await asyncio.wait({pending, task}, return_when=asyncio.FIRST_COMPLETED)
                    if not pending.done():  # the turn ended: its reply is the whole text
                        break
                    visible = visible_text(pending.result(), stops)
                    if visible.startswith(sent) and len(visible) > len(sent):
                        yield chunk({"content": visible[len(sent):]})
                        sent = visible
                    pending = asyncio.ensure_future(updates.get())
                answer = await asyncio.shield(task)
            except Exception as err:  # the response has started: the error goes into the stream, as OpenAI's does
                error = err if isinstance(err, APIError) else APIError(500, "The server had an error while processing your request.",
                                                                        code="server_error")
                yield f"data: {json.dumps(error.body())}\n\n".encode()
                return
            finally:
                pending.cancel()
            result = answer.result
            if result.reply.startswith(sent) and len(result.reply) > len(sent):
                yield chunk({"content": result.reply[len(sent):]})
            yield chunk({}, result.finish_reason, seam=seam_info(result))
            if include_usage:
                data = {"id": stream_id, "object": "chat.completion.chunk", "created": created, "model": model_id,
                        "system_fingerprint": None, "choices": [], "usage": usage(result)}
                yield f"data: {json.dumps(data)}\n\n".encode()
            yield b"data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream",
                                 headers={**headers, "Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    # -- memory administration, one user at a time -----------------------------------------------------
    def on_worker(user: str, operation: Callable[[MemoryAugmentedModel], Any]) -> Future:
        return worker.submit_operation(user, operation)

    @api.get("/memory/{user}")
    async def memory_stats(user: str) -> dict:
        user = _user(user)
        return await _result(on_worker(user, lambda m: memory_view.memory_stats(m, user)))

    @api.get("/memory/{user}/items")
    async def memory_items(user: str, layer: int | None = None) -> dict:
        user = _user(user)
        return await _result(on_worker(user, lambda m: memory_view.memory_items(m, user, layer)))

    @api.post("/memory/{user}/decay")
    async def memory_decay(user: str, request: Request) -> dict:
        user = _user(user)
        body = _parse(DecayRequest, await _read_body(request, 4096), empty_ok=True)
        return await _result(on_worker(user, lambda m: memory_view.decay_memory(m, user, body.cycles)))

    @api.delete("/memory/{user}")
    async def memory_forget(user: str) -> dict:
        user = _user(user)
        out = await _result(on_worker(user, lambda m: memory_view.forget_memory(m, user)))
        idempotency.forget(user)
        return out

    @api.get("/memory/{user}/export")
    async def memory_export(user: str) -> Response:
        user = _user(user)
        data = await _result(on_worker(user, lambda m: memory_view.export_memory(m, user)))
        return Response(data, media_type="application/octet-stream",
                        headers={"Content-Disposition": f'attachment; filename="{user}.safetensors"'})

    @api.post("/memory/{user}/import")
    async def memory_import(user: str, request: Request) -> dict:
        user = _user(user)
        data = await _read_body(request, config.max_import_bytes)
        if not data:
            raise bad_request("The request body must be a SEAM memory file (safetensors); it is empty.", "body")
        out = await _result(on_worker(user, lambda m: memory_view.import_memory(m, user, data)))
        idempotency.forget(user)
        return out

    app.include_router(api)

    # -- the page and liveness -------------------------------------------------------------------------
    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-cache"})

    @app.get("/health", include_in_schema=False)
    async def health() -> dict:
        return {"status": "ok", "models": [seam_id, bare_id], "authentication": config.api_key is not None,
                "pending": worker.pending, "batches": worker.batches, "batched_turns": worker.batched_turns,
                "generate_seconds": worker.generate_seconds}

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
