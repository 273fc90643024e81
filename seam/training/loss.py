"""The recall task as a differentiable loss.

Training episode for B users at once: each user's introduction (and any unrelated turns) is written to a
fresh memory with one prefill pass per turn, in the order seam.tasks.player.steps plays them (the same
order the evaluation plays episodes in); the frozen model needs no gradient there, but the write
projections do. Then, in a new conversation with no history, the question is asked and the answer
"Your name is {name}." is teacher-forced; the loss is on the name's tokens (plus a down-weighted term on
the answer's frame, see RecallLoss.forward) and flows back through the memory reads into the writes.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..lm.model import Batch, MemoryAugmentedModel
from ..lm.prompts import render_reply
from ..lm.users import UserMemory, stack_memories
from ..tasks.episodes import Episode
from ..tasks.player import steps


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

    def answer_batch(self, items: list[Episode], unrelated: list[int] = ()) -> tuple[Batch, Tensor]:
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
            head = it.answer.split(it.expected)[0]
            start = len(render_reply(m.tokenizer, m.chat_format, head.rstrip()))
            end = len(render_reply(m.tokenizer, m.chat_format, head + it.expected))
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

    def write_episode(self, items: list[Episode]) -> UserMemory:
        """Fresh memory for each episode, then its turns in order (a message: one conversation written
        with one prefill pass; a Decay: time passing), batched across episodes turn by turn."""
        m = self.model
        layers = list(m.memory_layers.values())
        rows = [m.users.empty(1) for _ in items]  # per episode, one state per layer
        for step in steps([it.turns for it in items]):
            if step.speaking:  # episodes whose past is over (or that rest this turn) compute nothing
                memory = stack_memories([rows[i] for i in step.speaking])
                memory, _ = m.write_turns(m.prepare([items[i].turns[step.turn] for i in step.speaking]), memory)
                for j, i in enumerate(step.speaking):
                    rows[i] = [s.select(j) for s in memory]
            for cycles, decaying in step.decaying.items():
                for i in decaying:
                    rows[i] = [layer.decay(s, cycles) for layer, s in zip(layers, rows[i])]
        return stack_memories(rows)

    def forward(self, items: list[Episode], unrelated: list[int] = ()) -> tuple[Tensor, Tensor, Tensor]:
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
            memory = stack_memories([memory, [s.select(slice(0, k)) for s in memory]])
        batch, role = self.answer_batch(items, unrelated)
        keep = int(role.shape[1] - (role > 0).any(0).nonzero()[0]) + 1  # logits from the position before the first label
        logits = m(batch.input_ids, batch.attention_mask, memory, logits_to_keep=keep).logits
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
