"""The demonstration experiments behind experiment.py and experiment_llm.py.

embedding  the embedding-only experiment: SEAM's buffer and store over MiniLM sentence embeddings, no LM.
llm        the LLM experiment: a name told, reinforced, corrected and asked for, on a model with trained memory.
chat       the interactive chat of experiment_llm.py -i.

The names below load their module on first use: the embedding experiment stays free of the LM layer's
imports (transformers) until a run needs the sentence encoder.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "EmbeddingExperimentConfig": "embedding",
    "EmbeddingMemory": "embedding",
    "run_experiment": "embedding",
    "LLMExperimentConfig": "llm",
    "run_and_save": "llm",
    "run_full": "llm",
    "run_simple": "llm",
    "interactive_chat": "chat",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
