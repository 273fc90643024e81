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
from ..memory import MemoryState
from ..lm.prompts import render_reply
from .data import DECAY_BETWEEN_CONVERSATIONS, RecallItem, item_hit


class RecallLoss(nn.Module):
    """Wraps the model so a training step is one forward call (what Accelerate/DDP need).

    Besides the name questions, a step may ask some episodes an unrelated question (`unrelated`), whose
    target is the frozen model's own greedy reply without memory: the memory learns to stay silent when
    it is not asked (without this term it answers "How do I keep basil alive?" with "Your name is ...").
    """

    def __init__(self, model: MemoryAugmentedModel, frame_weight: float = 0.5, silence_weight: float = 0.5):
        super().__init__()
        self.model = model
        self.frame_weight = frame_weight
        self.silence_weight = silence_weight
        self.silence_questions: list[str] = []
        self.silence_replies: list[list[int]] = []

    @torch.no_grad()
    def set_silence_targets(self, questions: list[str], max_tokens: int = 24, batch_size: int = 16) -> None:
        """The frozen model's greedy reply tokens (no memory) to `questions`: the first `max_tokens`,
        up to and including its end-of-turn token."""
        m = self.model
        eos = m.base.generation_config.eos_token_id
        stop = set(eos if isinstance(eos, list) else [eos]) | {m.tokenizer.eos_token_id}
        replies = []
        for i in range(0, len(questions), batch_size):
            batch = m.prepare(questions[i : i + batch_size])
            out = m.base.generate(  # no memory pass is active: the plain frozen model
                input_ids=batch.input_ids, attention_mask=batch.attention_mask, max_new_tokens=max_tokens, do_sample=False,
                pad_token_id=m.tokenizer.pad_token_id, temperature=None, top_p=None, top_k=None,
            )
            for row in out[:, batch.input_ids.shape[1] :].tolist():
                reply = []
                for t in row:
                    reply.append(t)
                    if t in stop:
                        break
                replies.append(reply)
        self.silence_questions = list(questions)
        self.silence_replies = replies

    def answer_batch(self, items: list[RecallItem], unrelated: list[int] = ()) -> tuple[Batch, Tensor]:
        """Question prompts (left-padded) + teacher-forced answers (right-padded): one row per item, then
        one per index of `unrelated` (silence question and the frozen model's reply).

        Returns the batch and a label-role tensor (B, T): 1 on the name's tokens, 2 on the answer's frame
        ("Your name is", the full stop and the end-of-turn token), 3 on a silence reply, 0 elsewhere.
        """
        m = self.model
        prompts = m.prepare([it.question for it in items] + [self.silence_questions[q] for q in unrelated])
        eos = m.tokenizer.eos_token_id
        rows, name_spans = [], []
        for it in items:
            head = it.answer.split(it.name)[0]
            start = len(render_reply(m.tokenizer, m.chat_format, head.rstrip()))
            end = len(render_reply(m.tokenizer, m.chat_format, head + it.name))
            rows.append(render_reply(m.tokenizer, m.chat_format, it.answer) + [eos])
            name_spans.append((start, end))
        for q in unrelated:
            rows.append(self.silence_replies[q])
            name_spans.append(None)
        P, A, B = prompts.input_ids.shape[1], max(len(r) for r in rows), len(rows)
        ids = torch.full((B, P + A), m.tokenizer.pad_token_id, dtype=torch.long)
        attn = torch.zeros(B, P + A, dtype=torch.long)
        role = torch.zeros(B, P + A, dtype=torch.long)
        ids[:, :P], attn[:, :P] = prompts.input_ids.cpu(), prompts.attention_mask.cpu()
        for i, (row, span) in enumerate(zip(rows, name_spans)):
            ids[i, P : P + len(row)] = torch.tensor(row)
            attn[i, P : P + len(row)] = 1
            role[i, P : P + len(row)] = 2 if span else 3
            if span:
                role[i, P + span[0] : P + span[1]] = 1
        dev = m.device
        return Batch(ids.to(dev), attn.to(dev), torch.zeros_like(ids, dtype=torch.bool).to(dev)), role.to(dev)

    def write_episode(self, items: list[RecallItem]):
        """Fresh memory for each item, then its turns in order, one conversation each, with
        DECAY_BETWEEN_CONVERSATIONS decay cycles between conversations."""
        m = self.model
        layers = list(m.memory_layers.values())
        rows = [m.empty_memory(1) for _ in items]  # per item, one state per layer
        seqs = [it.turns() for it in items]
        for t in range(max(len(seq) for seq in seqs)):
            active = [i for i, seq in enumerate(seqs) if t < len(seq)]  # episodes that are over compute nothing
            memory = [MemoryState.stack([rows[i][k] for i in active]) for k in range(len(layers))]
            if t:
                memory = [layer.decay(s, DECAY_BETWEEN_CONVERSATIONS) for layer, s in zip(layers, memory)]
            memory, _ = m.encode(m.prepare([seqs[i][t] for i in active]), memory)
            for j, i in enumerate(active):
                rows[i] = [s.select(j) for s in memory]
        return [MemoryState.stack([r[k] for r in rows]) for k in range(len(layers))]

    def forward(self, items: list[RecallItem], unrelated: list[int] = ()) -> tuple[Tensor, Tensor, Tensor]:
        """Returns (loss, loss on the name tokens, teacher-forced accuracy on the name tokens).

        loss = CE(name tokens) + frame_weight * CE(answer frame tokens) + silence_weight * CE(frozen
        model's reply to an unrelated question). The frame term teaches the memory to let the model
        answer in a sentence and stop, instead of repeating the name; recall is scored by generation,
        where only the name counts. The j-th unrelated question is asked of item j's memory.
        """
        m = self.model
        if len(unrelated) > len(items):
            raise ValueError("At most one unrelated question per item.")
        memory = self.write_episode(items)
        if unrelated:
            k = len(unrelated)
            memory = [MemoryState.stack([s, s.select(slice(0, k))]) for s in memory]
        batch, role = self.answer_batch(items, unrelated)
        keep = int(role.shape[1] - (role > 0).any(0).nonzero()[0]) + 1  # logits from the position before the first label
        with m.memory_pass(memory):
            logits = m.base(
                input_ids=batch.input_ids, attention_mask=batch.attention_mask, position_ids=position_ids(batch.attention_mask),
                use_cache=False, logits_to_keep=keep,
            ).logits
        logits, targets, role = logits[:, :-1].float(), batch.input_ids[:, -keep + 1 :], role[:, -keep + 1 :]
        token_loss = F.cross_entropy(logits.transpose(1, 2), targets, reduction="none")  # (B, T-1)
        name, frame, silence = role == 1, role == 2, role == 3
        name_loss = token_loss[name].mean()
        loss = name_loss + self.frame_weight * token_loss[frame].mean()
        if silence.any():
            loss = loss + self.silence_weight * token_loss[silence].mean()
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
