"""ExperimentConfig: which base model, where memory attaches, and how memory behaves."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from ..memory import MemoryConfig
from ..memory.config import config_from_dict
from .base_models import DEFAULT_BASE_MODEL


@dataclass
class ExperimentConfig:
    """Configuration of a MemoryAugmentedModel."""

    model_name: str = DEFAULT_BASE_MODEL
    """Bundled base model ('smollm2-135m', 'gemma3-270m'), a local HF model folder, or a .gguf file."""
    memory_layer_positions: list[int] | None = None
    """Decoder layers (0-based) after which a memory layer reads and writes. None: at 70%, 80% and 90%
    of the model's depth (21,24,27 for SmolLM2's 30 layers), where a retrieved token is close to the
    output; the seed's 3,6,9 can still be given explicitly."""
    memory: MemoryConfig = field(default_factory=lambda: MemoryConfig(key_inputs=2))
    """Memory sizes and dynamics; hidden_dim is set from the base model. Keys see the token's context
    and the token itself (key_inputs=2)."""
    device: str = "cpu"
    """torch device for the base model, memory layers and states."""
    write_replies: bool = False
    """Also write the model's own replies to memory (one extra forward pass per turn). Off: memory holds
    what the user said, which is what recall of user facts needs."""
    memory_dir: str | None = None
    """If set, each user's memory persists here as <user>.safetensors, saved after every change."""
    max_new_tokens: int = 48
    """Default reply length for generate()."""
    surprisal_bf16: bool | None = None
    """Compute a written message's surprisal (the store's gate) through a bfloat16 copy of the LM head: 3-4x
    faster where the hardware multiplies bf16 natively (a 49k-token head over 240 message tokens: 37 ms instead
    of 142 ms on this CPU), within 0.03 nats of float32. None: where it does (`bf16_native`); False: float32, as
    the head computes it. Every write path of a process uses the same choice, so a turn writes the same memory
    alone or in a batch."""
    system_prompt: str | None = ""
    """The system turn of every prompt. "" (default): an empty one. SmolLM2's template otherwise adds
    "You are a helpful AI assistant named SmolLM, trained by Hugging Face", 16 of the 35 tokens of a
    short question: every write and every reply's prefill would pay for it. None: the template as it is.
    A checkpoint records the one it was trained with, and loading it restores it."""

    def __post_init__(self) -> None:
        if isinstance(self.memory, dict):
            self.memory = MemoryConfig.from_dict(self.memory)
        if self.memory_layer_positions is None:
            return self._check_rest()
        positions = list(self.memory_layer_positions)
        if not positions or not all(isinstance(p, int) and p >= 0 for p in positions):
            raise ValueError(f"memory_layer_positions must be a non-empty list of layer indices >= 0, got {self.memory_layer_positions!r}.")
        if len(set(positions)) != len(positions):
            raise ValueError(f"memory_layer_positions has duplicates: {positions}.")
        self.memory_layer_positions = sorted(positions)
        self._check_rest()

    def _check_rest(self) -> None:
        if not isinstance(self.model_name, str) or not self.model_name:
            raise ValueError("model_name must be a bundled model name or a path.")
        if not isinstance(self.max_new_tokens, int) or self.max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be a positive integer, got {self.max_new_tokens!r}.")
        if self.surprisal_bf16 not in (None, True, False):
            raise ValueError(f"surprisal_bf16 must be True, False or None (automatic), got {self.surprisal_bf16!r}.")
        if self.system_prompt is not None and not isinstance(self.system_prompt, str):
            raise ValueError(f"system_prompt must be a string or None, got {type(self.system_prompt).__name__}.")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "ExperimentConfig":
        return config_from_dict(cls, data)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)


def auto_layer_positions(num_layers: int) -> list[int]:
    """Memory positions at 70%, 80% and 90% of the depth."""
    return sorted({min(num_layers - 1, round(num_layers * f)) for f in (0.7, 0.8, 0.9)})


def parse_layer_positions(text: str) -> list[int] | None:
    """'3,6,9' -> [3, 6, 9]; 'auto' -> None; a readable error for anything else."""
    if text.strip().lower() == "auto":
        return None
    try:
        return [int(p) for p in text.split(",") if p.strip()]
    except ValueError:
        raise ValueError(f"--memory-layers must be comma-separated integers like 3,6,9, got {text!r}.") from None
