"""The recall task as a differentiable loss, and recall measured by real generation.

Training episode for B users at once: each user's introduction (and any unrelated turns) is written to a
fresh memory with one prefill pass per turn; the frozen model needs no gradient there, but the write
projections do. Then, in a new conversation with no history, the question is asked and the answer
"Your name is {name}." is teacher-forced; the loss is on the name's tokens (plus a down-weighted term on
the answer's frame, see RecallLoss.forward) and flows back through the memory reads into the writes.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..lm.model import Batch, MemoryAugmentedModel, position_ids
from ..lm.prompts import render_reply
from .data import DECAY_BETWEEN_CONVERSATIONS, RecallItem, item_hit


class RecallLoss(nn.Module):
    """Wraps the model so a training step is one forward call (what Accelerate/DDP need)."""

    def __init__(self, model: MemoryAugmentedModel, frame_weight: float = 0.5):
        super().__init__()
        self.model = model
        self.frame_weight = frame_weight

    def answer_batch(self, items: list[RecallItem]) -> tuple[Batch, Tensor]:
        """Question prompts (left-padded) + teacher-forced answers (right-padded).

        Returns the batch and a label-role tensor (B, T): 1 on the name's tokens, 2 on the answer's frame
        ("Your name is", the full stop and the end-of-turn token), 0 elsewhere.
        """
        m = self.model
        prompts = m.prepare([it.question for it in items])
        eos = m.tokenizer.eos_token_id
        rows, name_spans = [], []
        for it in items:
            head = it.answer.split(it.name)[0]
            start = len(render_reply(m.tokenizer, m.chat_format, head.rstrip()))
            end = len(render_reply(m.tokenizer, m.chat_format, head + it.name))
            rows.append(render_reply(m.tokenizer, m.chat_format, it.answer) + [eos])
            name_spans.append((start, end))
        P, A, B = prompts.input_ids.shape[1], max(len(r) for r in rows), len(items)
        ids = torch.full((B, P + A), m.tokenizer.pad_token_id, dtype=torch.long)
        attn = torch.zeros(B, P + A, dtype=torch.long)
        role = torch.zeros(B, P + A, dtype=torch.long)
        ids[:, :P], attn[:, :P] = prompts.input_ids.cpu(), prompts.attention_mask.cpu()
        for i, (row, (s, e)) in enumerate(zip(rows, name_spans)):
            ids[i, P : P + len(row)] = torch.tensor(row)
            attn[i, P : P + len(row)] = 1
            role[i, P : P + len(row)] = 2
            role[i, P + s : P + e] = 1
        dev = m.device
        return Batch(ids.to(dev), attn.to(dev), torch.zeros_like(ids, dtype=torch.bool).to(dev)), role.to(dev)

    def write_episode(self, items: list[RecallItem]):
        """Fresh memory for each item, then its turns in order, one conversation each, with
        DECAY_BETWEEN_CONVERSATIONS decay cycles between conversations."""
        m = self.model
        memory = m.empty_memory(len(items))
        seqs = [it.turns() for it in items]
        for t in range(max(len(seq) for seq in seqs)):
            if t:
                memory = [layer.decay(s, DECAY_BETWEEN_CONVERSATIONS) for layer, s in zip(m.memory_layers.values(), memory)]
            active = torch.tensor([t < len(seq) for seq in seqs], device=m.device)
            batch = m.prepare([seq[t] if t < len(seq) else seq[0] for seq in seqs])
            batch.message_mask &= active[:, None]  # rows whose episode is over write nothing this turn
            memory, _ = m.encode(batch, memory)
        return memory

    def forward(self, items: list[RecallItem]) -> tuple[Tensor, Tensor, Tensor]:
        """Returns (loss, loss on the name tokens, teacher-forced accuracy on the name tokens).

        loss = CE(name tokens) + frame_weight * CE(answer frame tokens). The frame term teaches the
        memory to let the model answer in a sentence and stop, instead of repeating the name; recall is
        scored by generation, where only the name counts.
        """
        m = self.model
        memory = self.write_episode(items)
        batch, role = self.answer_batch(items)
        with m.memory_pass(memory):
            logits = m.base(
                input_ids=batch.input_ids, attention_mask=batch.attention_mask, position_ids=position_ids(batch.attention_mask), use_cache=False
            ).logits
        logits, targets, role = logits[:, :-1].float(), batch.input_ids[:, 1:], role[:, 1:]
        token_loss = F.cross_entropy(logits.transpose(1, 2), targets, reduction="none")  # (B, T-1)
        name, frame = role == 1, role == 2
        name_loss = token_loss[name].mean()
        loss = name_loss + self.frame_weight * token_loss[frame].mean()
        with torch.no_grad():
            acc = (logits.argmax(-1)[name] == targets[name]).float().mean()
        return loss, name_loss.detach(), acc


@torch.no_grad()
def generation_recall(
    model: MemoryAugmentedModel,
    items: list[RecallItem],
    batch_size: int = 16,
    max_new_tokens: int = 12,
    mode: str = "memory",
    user_prefix: str = "eval",
) -> tuple[float, list[dict]]:
    """Recall by real greedy generation after a real context clear, through the public API.

    mode "memory": intro (+ distractors) written with remember(), then the question asked in a new
    conversation via generate(update_memory=False). "no-memory": the bare model asked in a new
    conversation. "in-context": the bare model with the introduction (and distractors) kept in the prompt.
    Returns (accuracy, per-item records).
    """
    records = []
    for start in range(0, len(items), batch_size):
        chunk = items[start : start + batch_size]
        users = [f"{user_prefix}-{start + i}" for i in range(len(chunk))]
        for u in users:
            model.clear_memory(u)
        histories = None
        if mode == "memory":
            turns = max(len(it.turns()) for it in chunk)
            for t in range(turns):
                idx = [i for i, it in enumerate(chunk) if t < len(it.turns())]
                seqs = [chunk[i].turns() for i in idx]
                model.remember([s[t] for s in seqs], user=[users[i] for i in idx])
        elif mode == "in-context":
            histories = [[{"role": "user", "content": s} for s in it.turns()] for it in chunk]
            # the bare model sees each turn as a user message followed by the next; merge into one history
            histories = [_as_history(h) for h in histories]
        elif mode != "no-memory":
            raise ValueError(f"Unknown recall mode {mode!r}.")
        replies, _ = model.generate(
            [it.question for it in chunk], user=users, history=histories, update_memory=False,
            max_new_tokens=max_new_tokens, use_memory=(mode == "memory"),
        )
        for it, reply, u in zip(chunk, replies, users):
            records.append({"name": it.name, "intro": it.intro, "question": it.question, "distractors": len(it.distractors),
                            "reply": reply, "hit": item_hit(it, reply)})
            model.memories.pop(u, None)
    accuracy = sum(r["hit"] for r in records) / max(len(records), 1)
    return accuracy, records


def _as_history(user_turns: list[dict]) -> list[dict]:
    """User turns with a neutral assistant acknowledgement between them (a real chat alternates roles)."""
    history = []
    for turn in user_turns:
        history += [turn, {"role": "assistant", "content": "Okay."}]
    return history
