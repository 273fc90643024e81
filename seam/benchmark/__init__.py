"""Performance benchmark: what SEAM's memory costs per token, per turn and per user, against the alternatives.

Every comparison runs in one process with its arms interleaved (A, B, A, B, ...): a noisy machine then
slows both arms alike. Each arm reports the median of its repeats, and each comparison the median of the
per-round paired ratios, with the number of repeats. Sections:

- generation: tokens/s of greedy decoding, the bare model vs SEAM reading a full memory (and writing).
- write: one remembered user turn vs a reply; the marginal cost of update_memory inside generate().
- history: a question after N earlier tokens: SEAM (fixed-size memory, no history in the prompt) vs
  the whole history in the prompt (in-context), up to the model's context limit.
- footprint: bytes of one user's memory, vs the KV cache of the history it stands in for; how a memory
  read grows with the slot count.
- training: recall-task examples per second (RecallLoss forward + backward + AdamW step).
- profile: torch.profiler tables of the generation path (base, SEAM reads, SEAM reads + write, one read).

Costs do not depend on what the memory holds, only on its size, so memories are filled directly with
random slots at their configured size (a user's steady state: every slot in use).

Modules: config (BenchmarkConfig), timing (interleaved arms, CPU contention), sections (inputs and the
measurements), report (targets, Markdown, JSON), runner (the whole run).
"""

from __future__ import annotations

from .config import BenchmarkConfig
from .report import markdown_report, targets, write_results
from .runner import environment, load_model, main_from_config, run_benchmark
from .sections import (
    bench_footprint,
    bench_generation,
    bench_history,
    bench_profile,
    bench_training,
    bench_writes,
    filled_state,
    forced_length,
    full_memory,
    history_of_tokens,
    kv_cache_bytes_per_token,
    memory_bytes,
    text_of_tokens,
)
from .timing import Timings, interleaved, paired_ratio, summary

__all__ = [
    "BenchmarkConfig",
    "Timings",
    "bench_footprint",
    "bench_generation",
    "bench_history",
    "bench_profile",
    "bench_training",
    "bench_writes",
    "environment",
    "filled_state",
    "forced_length",
    "full_memory",
    "history_of_tokens",
    "interleaved",
    "kv_cache_bytes_per_token",
    "load_model",
    "main_from_config",
    "markdown_report",
    "memory_bytes",
    "paired_ratio",
    "run_benchmark",
    "summary",
    "targets",
    "text_of_tokens",
    "write_results",
]
