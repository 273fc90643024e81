"""Where memory attaches in each supported architecture, and forward hooks that own their cleanup."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from torch import Tensor, nn

# model_type -> dotted path of the decoder-layer list (one table; add a row to support a new family).
DECODER_LAYERS = {
    "llama": "model.layers",  # Llama, SmolLM2
    "mistral": "model.layers",
    "qwen2": "model.layers",
    "qwen3": "model.layers",
    "gemma": "model.layers",
    "gemma2": "model.layers",
    "gemma3_text": "model.layers",  # Gemma 3 270M / 1B (text-only)
    "gemma3": "model.language_model.layers",  # Gemma 3 multimodal wrapper
    "gpt2": "transformer.h",
}


def decoder_layers(model: nn.Module) -> nn.ModuleList:
    """The decoder blocks of a causal LM, from the table above; a clear error for anything else."""
    model_type = getattr(getattr(model, "config", None), "model_type", None)
    if model_type not in DECODER_LAYERS:
        raise ValueError(
            f"SEAM does not know where the decoder layers of model type {model_type!r} are. "
            f"Supported model types: {', '.join(sorted(DECODER_LAYERS))}."
        )
    module: Any = model
    for name in DECODER_LAYERS[model_type].split("."):
        module = getattr(module, name)
    return module


def split_output(output: Tensor | tuple) -> tuple[Tensor, Callable[[Tensor], Tensor | tuple]]:
    """A decoder block returns a Tensor (transformers 5) or a tuple whose first item is the hidden states.
    Returns the hidden states and a function that rebuilds the output around new hidden states."""
    if isinstance(output, tuple):
        return output[0], lambda hidden: (hidden, *output[1:])
    return output, lambda hidden: hidden


def contiguous_input(module: nn.Module, args: tuple) -> tuple | None:
    """Forward pre-hook: a contiguous copy of a non-contiguous tensor input, the same values.

    transformers computes logits of the last k positions as `lm_head(hidden[:, -k:, :])`, a strided view;
    torch runs a Linear on a strided 3-D input as a batched matmul against the weight expanded per row,
    which on CPU is 4-5x slower than one matmul (SmolLM2's 49k-token head, 50 prompts x 19 positions:
    1.7 s instead of 0.4 s, a fifth of a `remember` call).
    """
    if args and isinstance(args[0], Tensor) and not args[0].is_contiguous():
        return (args[0].contiguous(), *args[1:])
    return None


class LayerHooks:
    """Forward hooks on a set of decoder layers, removed by `remove()` or on leaving a `with` block."""

    def __init__(
        self,
        layers: nn.ModuleList,
        positions: Sequence[int],
        hook: Callable[[int, Tensor], Tensor],
        embeddings: nn.Module | None = None,
        on_input_ids: Callable[[Tensor], None] | None = None,
        head: nn.Module | None = None,
        decoder: nn.Module | None = None,
        on_decoder_output: Callable[[Tensor], None] | None = None,
    ):
        """hook(position, hidden) -> hidden runs after each layer in `positions`; on_input_ids(ids), if
        given, sees the token ids of every forward call as they enter `embeddings`; `head` (the LM head),
        if given, gets its input made contiguous (see `contiguous_input`); on_decoder_output(hidden), if given,
        sees the last hidden states (B, T, C) that `decoder` (the stack under the LM head) returns on every call."""
        n = len(layers)
        bad = [p for p in positions if not 0 <= p < n]
        if bad:
            raise ValueError(f"Memory layer position(s) {bad} are out of range: this model has {n} decoder layers (0..{n - 1}).")
        self.handles = []
        try:
            for p in positions:
                self.handles.append(layers[p].register_forward_hook(self._wrap(p, hook)))
            if embeddings is not None and on_input_ids is not None:
                self.handles.append(embeddings.register_forward_pre_hook(lambda module, args: on_input_ids(args[0]) if args else None))
            if head is not None:
                self.handles.append(head.register_forward_pre_hook(contiguous_input))
            if decoder is not None and on_decoder_output is not None:
                self.handles.append(decoder.register_forward_hook(self._decoder_hook(on_decoder_output)))
        except BaseException:
            self.remove()
            raise

    @staticmethod
    def _wrap(position: int, hook: Callable[[int, Tensor], Tensor]):
        def forward_hook(module: nn.Module, args: tuple, output: Tensor | tuple):
            hidden, rebuild = split_output(output)
            new_hidden = hook(position, hidden)
            return output if new_hidden is hidden else rebuild(new_hidden)

        return forward_hook

    @staticmethod
    def _decoder_hook(on_output: Callable[[Tensor], None]):
        def forward_hook(module: nn.Module, args: tuple, output) -> None:  # None: the output is unchanged
            on_output(output if isinstance(output, Tensor) else output[0])  # a ModelOutput or tuple: last hidden states first

        return forward_hook

    @property
    def attached(self) -> bool:
        return bool(self.handles)

    def remove(self) -> None:
        for handle in self.handles:
            handle.remove()
        self.handles = []

    def __enter__(self) -> "LayerHooks":
        return self

    def __exit__(self, *exc) -> None:
        self.remove()
