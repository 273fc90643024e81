"""BenchmarkConfig: what `python bench/run.py` measures; each field's docstring is its command-line help."""

from __future__ import annotations

from dataclasses import dataclass

from ..lm.base_models import DEFAULT_BASE_MODEL


@dataclass
class BenchmarkConfig:
    """What `python bench/run.py` measures; the defaults run in under 10 minutes on 2 CPU cores."""

    model_name: str = DEFAULT_BASE_MODEL
    """Base model (bundled name, HF folder or .gguf)."""
    pretrained: bool = True
    """Use the shipped trained memory weights when they exist (cost does not depend on them)."""
    checkpoint: str | None = None
    """A SEAM checkpoint to benchmark instead of the shipped one: what a design option it turns on costs."""
    threads: int | None = None
    """torch intra-op threads (None, the default: torch's choice); recorded in the results either way."""
    repeats: int = 5
    """Timed rounds of each interleaved comparison (generation, write, reads, training use this)."""
    warmup: int = 1
    """Untimed rounds before each comparison."""
    new_tokens: int = 64
    """Greedy new tokens per generation (forced: end-of-sequence is suppressed)."""
    reply_tokens: int = 32
    """Length of the reply a write is compared with, and of the answers in the history comparison."""
    write_tokens: tuple[int, ...] = (32, 256)
    """Lengths of the user turns written to memory."""
    history_tokens: tuple[int, ...] = (1024, 4096, 16384)
    """Earlier-conversation sizes; a size beyond the model's context is reported as not possible in-context."""
    history_at_context_limit: bool = True
    """Also measure the largest history that fits the context (8k for SmolLM2)."""
    history_repeats: int = 3
    """Most rounds per history size (fewer once history_seconds have passed)."""
    history_seconds: float = 45.0
    """No new round of a history size once it has taken this long (long prompts get 1-2 rounds)."""
    read_slots: tuple[int, ...] = (384, 4096, 32768)
    """Total slots (buffer + store) for the read-cost scaling; the store keeps its configured size."""
    reads_per_timing: int = 40
    """Reads per timed sample in the read scaling (a single read is tens of microseconds)."""
    train_steps: int = 3
    """Timed training steps (recall-task forward + backward + optimizer step)."""
    train_batch_size: int = 8
    """Episodes per training step."""
    profile_tokens: int = 32
    """Greedy new tokens per profiled generate() call."""
    profile_rows: int = 25
    """Rows of each torch.profiler table in profile_generate.txt."""
    seed: int = 0
    """Seed of the random memories, texts and training episodes."""
    output_dir: str = "bench/results"
    """Where benchmark.json, benchmark.md, profile_generate.txt and benchmark.log go."""

    def __post_init__(self) -> None:
        if self.checkpoint is not None and not self.pretrained:
            raise ValueError("BenchmarkConfig.checkpoint loads trained memory weights: it cannot go with pretrained=False (--untrained).")
        for name in ("repeats", "new_tokens", "reply_tokens", "history_repeats", "reads_per_timing", "train_steps",
                     "train_batch_size", "profile_tokens", "profile_rows"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"BenchmarkConfig.{name} must be a positive integer, got {value!r}.")
        if not isinstance(self.warmup, int) or self.warmup < 0:
            raise ValueError(f"BenchmarkConfig.warmup must be an integer >= 0, got {self.warmup!r}.")
        if self.threads is not None and (not isinstance(self.threads, int) or self.threads < 1):
            raise ValueError(f"BenchmarkConfig.threads must be a positive integer or None, got {self.threads!r}.")
        for name in ("write_tokens", "history_tokens", "read_slots"):
            values = tuple(getattr(self, name))
            if not values or not all(isinstance(v, int) and v >= 1 for v in values):
                raise ValueError(f"BenchmarkConfig.{name} must be a non-empty list of positive integers, got {values!r}.")
            setattr(self, name, values)
