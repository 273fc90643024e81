"""`seam serve`: an OpenAI-compatible chat server with per-user SEAM memory, memory routes and a chat page.

    from seam.serve import ServerConfig, create_app
    app = create_app(model, ServerConfig(api_key="secret"))   # model built with ExperimentConfig(memory_dir=...)

See app.py for the routes, worker.py for batching and per-user order, memory_view.py for what the memory
routes show.
"""

from .app import IdempotencyCache, create_app, model_ids
from .config import IDEMPOTENCY_HEADER, MEMORY_HEADER, USER_HEADER, ServeCommand, ServerConfig
from .threaded import ThreadedServer
from .worker import ChatResult, ChatTurn, ModelWorker

__all__ = [
    "IDEMPOTENCY_HEADER",
    "MEMORY_HEADER",
    "USER_HEADER",
    "ChatResult",
    "ChatTurn",
    "IdempotencyCache",
    "ModelWorker",
    "ServeCommand",
    "ServerConfig",
    "ThreadedServer",
    "create_app",
    "model_ids",
]
