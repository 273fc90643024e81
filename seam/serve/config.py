"""ServerConfig: how `seam serve` behaves (batching, limits, defaults); ServeCommand: what it loads and where it listens.

Each field's docstring is its command-line help (see seam.cli.add_config_args).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from ..lm.base_models import DEFAULT_BASE_MODEL

USER_HEADER = "X-SEAM-User"
"""Request header naming the user whose memory a request reads and writes (as the body's `user`)."""
MEMORY_HEADER = "X-SEAM-Memory"
"""Response header: `on` (the user's memory was read and their message written) or `off` (no user: no memory)."""
IDEMPOTENCY_HEADER = "Idempotency-Key"
"""Request header: a retried request with the same key (and body) gets the first answer and writes nothing again."""


def _positive_int(owner: str, name: str, value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{owner}.{name} must be a positive integer, got {value!r}.")


@dataclass
class ServerConfig:
    """What the server does with requests; the defaults suit a 2-core CPU and a 135M model."""

    api_key: str | None = None
    """Bearer key every API route requires (None: no authentication; only sensible on 127.0.0.1)."""
    max_batch: int = 16
    """Most users whose turns share one forward pass (each user at most once per batch)."""
    batch_window_ms: float = 50.0
    """Longest wait for more turns before a batch starts: until as many wait as there were users in the last two
    batches (clients answered together come back together; a lone user never waits)."""
    max_pending: int = 1024
    """Requests waiting for the model beyond this are refused with 503 (the client should retry later)."""
    default_max_tokens: int = 128
    """Reply length when a request sets neither max_tokens nor max_completion_tokens (cut to what the context allows)."""
    max_tokens_limit: int = 1024
    """Largest max_tokens a request may ask for."""
    default_temperature: float = 0.0
    """Temperature when a request sets none: 0 is greedy decoding (the same reply every time), unlike OpenAI's 1."""
    max_request_bytes: int = 4 * 1024 * 1024
    """Largest chat request body (bytes); larger ones get 413."""
    max_import_bytes: int = 64 * 1024 * 1024
    """Largest memory file a client may import (bytes)."""
    max_users_in_ram: int = 256
    """With a memory directory, users beyond this many are released from RAM, least recently used first (their
    files stay; the next request reloads them)."""
    idempotency_cache: int = 4096
    """How many answered requests with an Idempotency-Key are remembered for retries."""

    def __post_init__(self) -> None:
        for name in ("max_batch", "max_pending", "default_max_tokens", "max_tokens_limit", "max_request_bytes",
                     "max_import_bytes", "max_users_in_ram", "idempotency_cache"):
            _positive_int("ServerConfig", name, getattr(self, name))
        if not isinstance(self.batch_window_ms, (int, float)) or self.batch_window_ms < 0:
            raise ValueError(f"ServerConfig.batch_window_ms must be >= 0, got {self.batch_window_ms!r}.")
        if not isinstance(self.default_temperature, (int, float)) or not 0 <= self.default_temperature <= 2:
            raise ValueError(f"ServerConfig.default_temperature must be in [0, 2], got {self.default_temperature!r}.")
        if self.default_max_tokens > self.max_tokens_limit:
            raise ValueError(f"ServerConfig.default_max_tokens ({self.default_max_tokens}) exceeds max_tokens_limit "
                             f"({self.max_tokens_limit}).")
        if self.api_key is not None and (not isinstance(self.api_key, str) or not self.api_key.strip()):
            raise ValueError("ServerConfig.api_key must be a non-empty string or None.")


@dataclass
class ServeCommand:
    """What `seam serve` loads and where it listens."""

    model: str = DEFAULT_BASE_MODEL
    """Base model: bundled name (smollm2-135m, gemma3-270m), a local HF folder or a .gguf file."""
    checkpoint: str | None = None
    """SEAM checkpoint: a .safetensors file or glob (newest match), 'none' for untrained memory (default: the shipped one)."""
    memory_dir: str = "./memory"
    """Where each user's memory persists, one <user>.safetensors file each, written before the reply is sent."""
    host: str = "127.0.0.1"
    """Address to listen on (another than loopback exposes every user's memory to the network: set an API key)."""
    port: int = 8000
    """TCP port."""
    device: str = "cpu"
    """torch device (cpu, cuda, mps)."""
    threads: int | None = None
    """torch intra-op threads (None: torch's choice)."""
    log_level: str = "info"
    """uvicorn and SEAM log level (debug, info, warning, error)."""

    def __post_init__(self) -> None:
        if not isinstance(self.port, int) or not 0 <= self.port <= 65535:
            raise ValueError(f"port must be in 0-65535, got {self.port!r}.")
        if not self.memory_dir:
            raise ValueError("memory_dir must name a directory (memory that survives a restart needs one).")
        if self.threads is not None:
            _positive_int("ServeCommand", "threads", self.threads)
        if self.log_level not in ("debug", "info", "warning", "error"):
            raise ValueError(f"log_level must be debug, info, warning or error, got {self.log_level!r}.")

    @property
    def loopback(self) -> bool:
        """Whether `host` only accepts connections from this machine."""
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False
