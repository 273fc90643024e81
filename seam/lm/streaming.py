"""Streaming a batched generate row by row: each user's reply text as it grows, token by token.

transformers' own streamers (TextStreamer, TextIteratorStreamer) take batch size 1; SEAM answers several
users in one batch, so `RowStreamer` keeps one token list per row and reports each row's text whenever it
grows. The text is cleaned exactly as `MemoryAugmentedModel.generate` cleans a finished reply, so the last
report of a row is a prefix of (usually equal to) the reply generate returns.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch
from transformers import PreTrainedTokenizerBase
from transformers.generation.streamers import BaseStreamer


class RowStreamer(BaseStreamer):
    """Calls `on_text(row, text)` with row `row`'s reply so far each time it grows.

    Args:
        tokenizer: decodes the reply tokens (special tokens skipped).
        rows: the batch size.
        on_text: the callback (runs on the generating thread; keep it short).
        clean: what generate does to a decoded reply (strip, cut a plain prompt's next "User:" turn).
        stop_ids: tokens that end a row (end of turn, padding of finished rows).
    """

    def __init__(self, tokenizer: PreTrainedTokenizerBase, rows: int, on_text: Callable[[int, str], None],
                 clean: Callable[[str], str], stop_ids: Iterable[int]):
        self.tokenizer, self.on_text, self.clean = tokenizer, on_text, clean
        self.stop_ids = {int(t) for t in stop_ids if t is not None}
        self.tokens: list[list[int]] = [[] for _ in range(rows)]
        self.finished = [False] * rows
        self.reported = [""] * rows
        self._prompt_seen = False

    def put(self, value: torch.Tensor) -> None:
        if not self._prompt_seen:  # generate first hands over the prompt
            self._prompt_seen = True
            return
        step = value.reshape(len(self.tokens), -1).tolist()
        for row, new in enumerate(step):
            if self.finished[row]:
                continue
            for token in new:
                if token in self.stop_ids:
                    self.finished[row] = True
                    break
                self.tokens[row].append(token)
            text = self.clean(self.tokenizer.decode(self.tokens[row], skip_special_tokens=True))
            if text.endswith("\ufffd"):  # a character cut between tokens: wait for the rest of it
                continue
            if text != self.reported[row]:
                self.reported[row] = text
                self.on_text(row, text)

    def end(self) -> None:
        """The text held back for a character cut between tokens is final now: report it as it is."""
        for row, tokens in enumerate(self.tokens):
            text = self.clean(self.tokenizer.decode(tokens, skip_special_tokens=True))
            if text != self.reported[row]:
                self.reported[row] = text
                self.on_text(row, text)
