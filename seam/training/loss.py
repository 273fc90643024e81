"""What the memory is trained to do, as one differentiable loss: remember what the user said, answer what
was asked, and otherwise leave the model alone.

A step plays B training episodes (seam.tasks.mix, or the names task): each user's past is written to a
fresh memory with one prefill pass per conversation, in the order seam.tasks.player.steps plays them
(the order the evaluation plays episodes in); the frozen model needs no gradient there, but the write
projections do. Then the question is asked, in a new conversation or after the episode's in-conversation
`history`, and the reply is teacher-forced:

- a value question: the kind's answer sentence ("You live in Cluj-Napoca."): cross-entropy on the
  value's tokens, and (down-weighted) on the sentence around it and the end-of-turn token;
- a question about a fact never told: the kind's "not told" sentence, cross-entropy on all of it;
- a general question or request (the user's memory holds a realistic past): KL(bare || SEAM) of the
  next-token distributions over the frozen model's own greedy reply, every token of it and the whole
  vocabulary, so memory learns to change nothing it was not asked about; with query gates and a
  gate_close_weight, also the mean read factor of every position of that prompt and reply (half of it: in
  [0, 1]), so the gates learn to shut where nothing is about the user, however small the KL already is;
  with a gate_open_weight, also how far each read factor of a reply about the user (a value's sentence or
  a "not told" one) falls below 1 (mean of max(0, 1 - factor)), so shutting the read elsewhere does not
  weaken it where the user's facts are asked for (the read there stays at least as the ungated one);
- with a wrong_value_weight, an unlikelihood term (Welleck et al., 2019) on the values an answer must not
  give (the pet's name asked for the user's, the old value after a correction, another fact of the same
  turn): -log(1 - p) of the token where the answer would turn from the right value into the wrong one,
  at that position of the teacher-forced answer, so the read learns which stored value is asked for, not
  only to produce the right one.

- with a decision_weight and the abstain slot, at the *decision point* of a single-fact or a never-told question
  (the reply position where the told answer and the kind's "not told" sentence part: after "You" of "You live
  in ..." / "You haven't told me ..."), each memory layer's read is told what to attend to: the memory's slots
  for a told fact (-log of their attention mass, mean over heads), the abstain slot for a never-told one (other
  facts in memory), so whether memory answers the question is decided by what the read finds, not guessed
  (results/design/match_signal: the shipped reads picked the same kind of slot either way). Computed from the
  attention logits in log space (a read sure of the wrong slot still learns) and averaged over told and never-told
  decisions apart (the few never-told ones are not drowned by the easy told ones).
- with a kind_match_weight and abstain_match, at the same decision points: each layer's kind-match score
  (DualMemoryLayer.kind_match, what raises the abstain slot's logit as it falls) of a told question should exceed
  a never-told one's: softplus(KIND_MATCH_TEMPERATURE * (never - told)) over the batch's told x never-told pairs, a
  pairwise logistic loss (its mean is a smooth 1 - AUC). The decision term alone cannot teach that contrast while
  the read is saturated: a told read already on its slots by a hundred logits gives no gradient, so only the
  never-told side pushes, the same way for every question.

The loss flows back through the memory reads into the writes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..lm.model import MemoryAugmentedModel, recent_token_windows
from ..lm.prompts import continuation_batch, render_reply
from ..lm.users import UserMemory, stack_memories
from ..memory.attention import MemorySlots
from ..memory.layer import DualMemoryLayer
from ..tasks.episodes import Decay, Episode
from ..tasks.facts import KNOWN_KINDS
from ..tasks.player import steps

KIND_MATCH_TEMPERATURE = 10.0
"""Scale of the kind-match ranking term: cosines differ by tenths, and a pair 0.3 apart should count as ranked."""
VALUE, FRAME, MATCH = 1, 2, 3
"""Label roles of a reply token: the value (or a "not told" sentence), the sentence around a value, a
token of the frozen model's reply whose distribution memory must leave as it was."""


class _AnyField(dict):
    def __missing__(self, key: str) -> str:
        return "x"


DECISION_TASKS = ("fact", "abstain")
"""The episodes whose decision point the training's decision and kind-match terms use: single facts and never-told
questions with facts in memory (results/design/abstain_match/fit_score.py also fits on other value episodes)."""


def decision_index(item: Episode, row: list[int], render, tasks: Sequence[str] = DECISION_TASKS) -> int | None:
    """For an episode of one of `tasks` (by default a single fact, task "fact", or a never-told question with facts in
    memory, task "abstain") that asks about a fact kind with facts in memory: the index of the first reply token where
    the told answer and the asked kind's "not told" sentence differ (`row` is the episode's own teacher-forced reply,
    `render` turns text into reply tokens); else None."""
    kind = KNOWN_KINDS.get(item.meta.get("kind", ""))
    has_facts = any(not isinstance(t, Decay) for t in item.turns)
    if kind is None or not has_facts or item.task not in tasks:
        return None
    other = kind.answer if item.expect == "abstain" else kind.unknown  # the sentence this reply is not
    other_row = render(other.format_map(_AnyField()))
    return next((k for k, (a, b) in enumerate(zip(row, other_row)) if a != b), None)


def decision_nll(logits: Tensor, never: Tensor) -> Tensor:
    """The decision term of reads with attention logits (n, H, N+2) over the null slot, the memory's slots and the
    abstain slot: -log of the attention mass (mean over heads) on the abstain slot where never (n,) is true, on the
    memory's slots elsewhere -> (n,). In log space, so a read sure of the wrong slot by 100 logits (the shipped reads'
    margins are 40-300) still gets a gradient; a clamped probability gets none. A told read whose slots are all hidden
    (a degenerate case) gets a large finite term and no gradient, never a NaN."""
    logp = logits.float().log_softmax(-1)
    slots = logp[..., 1:-1].masked_fill(~torch.isfinite(logp[..., 1:-1]), -1e4)  # hidden slots: finite, no gradient
    wanted = torch.where(never[:, None], logp[..., -1], slots.logsumexp(-1))  # (n, H)
    return -(wanted.logsumexp(-1) - math.log(wanted.shape[-1]))


def answer_head(item: Episode) -> tuple[str, str]:
    """An episode's answer sentence and the text before its value in it ("Your name is " of "Your name is Ana."):
    where the value tokens start, and what a wrong value would follow."""
    text = item.reply or item.answer
    return text, text.split(item.expected)[0]


class DecisionReads(NamedTuple):
    """The reads at a batch's decision points (RecallLoss.decision_reads): never (n,) whether each question's kind was
    never told; the query's tags (n, 1, W) and token identity (n, 1, C) where the model uses them, else None; per
    memory layer (the layer, its prepared slots (n rows), its input state (n, 1, C))."""

    never: Tensor
    tags: Tensor | None
    tokens: Tensor | None
    layers: list[tuple[DualMemoryLayer, MemorySlots, Tensor]]


class RecallLoss(nn.Module):
    """Wraps the model so a training step is one forward call (what Accelerate/DDP need)."""

    def __init__(self, model: MemoryAugmentedModel, frame_weight: float = 0.5, match_weight: float = 1.0, match_tokens: int = 24,
                 gate_close_weight: float = 0.0, gate_open_weight: float = 0.0, wrong_value_weight: float = 0.0,
                 decision_weight: float = 0.0, kind_match_weight: float = 0.0):
        super().__init__()
        # the terms that train a design option's weights: each needs that option, and none may be negative
        for name, weight, option, what in (
            ("gate_close_weight", gate_close_weight, "query_gate", "trains the read's query gates"),
            ("gate_open_weight", gate_open_weight, "query_gate", "trains the read's query gates"),
            ("decision_weight", decision_weight, "abstain_slot", "trains the read to pick the abstain slot when nothing answers"),
            ("kind_match_weight", kind_match_weight, "abstain_match", "trains the read's kind-match score"),
        ):
            if weight and not getattr(model.config.memory, option):
                raise ValueError(f"{name} {what}: the model has none (MemoryConfig.{option} is off).")
            if not weight >= 0:
                raise ValueError(f"{name} must be >= 0, got {weight!r}.")
        self.decision_weight = decision_weight
        self.kind_match_weight = kind_match_weight
        self.model = model
        self.wrong_value_weight = wrong_value_weight
        self.gate_close_weight = gate_close_weight
        self.gate_open_weight = gate_open_weight
        self.frame_weight = frame_weight
        self.match_weight = match_weight
        self.match_tokens = match_tokens
        self.bare_replies: dict[tuple, list[int]] = {}
        """The frozen model's greedy reply tokens (no memory) per (question, history), computed once each."""

    @staticmethod
    def _prompt_key(question: str, history: Sequence[dict[str, str]] = ()) -> tuple:
        return (question, tuple((m["role"], m["content"]) for m in history))

    @torch.no_grad()
    def bare_reply_tokens(
        self, questions: Sequence[str], batch_size: int = 16, histories: Sequence[list[dict[str, str]]] | None = None
    ) -> list[list[int]]:
        """The frozen model's greedy reply (no memory) to each question (after its history, if given): its
        first `match_tokens` tokens, up to and including its end-of-turn token (cached per prompt)."""
        m = self.model
        histories = histories or [[] for _ in questions]
        keys = [self._prompt_key(q, h) for q, h in zip(questions, histories)]
        prompts = dict(zip(keys, zip(questions, histories)))
        missing = sorted(k for k in prompts if k not in self.bare_replies)
        stop = m.end_of_turn_ids()
        for i in range(0, len(missing), batch_size):
            chunk = missing[i : i + batch_size]
            batch = m.prepare([prompts[k][0] for k in chunk], [prompts[k][1] for k in chunk])
            out = m.base.generate(  # no memory pass is active: the plain frozen model
                input_ids=batch.input_ids,
                attention_mask=batch.attention_mask,
                max_new_tokens=self.match_tokens,
                do_sample=False,
                pad_token_id=m.tokenizer.pad_token_id,
                temperature=None,
                top_p=None,
                top_k=None,
            )
            for q, row in zip(chunk, out[:, batch.input_ids.shape[1] :].tolist()):
                reply = []
                for t in row:
                    reply.append(t)
                    if t in stop:
                        break
                self.bare_replies[q] = reply
        return [self.bare_replies[k] for k in keys]

    def targets(self, items: Sequence[Episode]) -> tuple[list[list[int]], list[list[int]]]:
        """Per episode, the teacher-forced reply tokens and each token's role (VALUE, FRAME or MATCH)."""
        m = self.model
        eos = m.tokenizer.eos_token_id
        general = [it for it in items if it.expect in ("general", "silent")]
        bare = self.bare_reply_tokens([it.question for it in general], histories=[it.history for it in general]) if general else []
        bare = {id(it): row for it, row in zip(general, bare)}
        rows, roles = [], []
        for it in items:
            if it.expect in ("general", "silent"):
                rows.append(bare[id(it)])
                roles.append([MATCH] * len(bare[id(it)]))
            elif it.expect == "abstain":
                row = render_reply(m.tokenizer, m.chat_format, it.reply) + [eos]
                rows.append(row)
                roles.append([VALUE] * len(row))
            else:
                text, head = answer_head(it)
                start = len(render_reply(m.tokenizer, m.chat_format, head.rstrip()))
                end = len(render_reply(m.tokenizer, m.chat_format, head + it.expected))
                row = render_reply(m.tokenizer, m.chat_format, text) + [eos]
                rows.append(row)
                roles.append([FRAME] * start + [VALUE] * (end - start) + [FRAME] * (len(row) - end))
        return rows, roles

    def wrong_value_tokens(self, items: Sequence[Episode]) -> list[tuple[int, int, int]]:
        """(episode, reply position, token) for each value an episode's answer must not give (`forbidden`): the
        first token where the answer sentence with that value parts from the right one, and where (a forbidden
        value that the right one starts with, or that starts with it, parts nowhere and is left out)."""
        m = self.model
        out = []
        for i, it in enumerate(items):
            if it.expect in ("general", "silent", "abstain") or not it.forbidden:
                continue
            _, head = answer_head(it)
            right = render_reply(m.tokenizer, m.chat_format, head + it.expected)
            for other in dict.fromkeys(it.forbidden):
                wrong = render_reply(m.tokenizer, m.chat_format, head + other)
                parts_at = next((j for j, (a, b) in enumerate(zip(right, wrong)) if a != b), None)
                if parts_at is not None:
                    out.append((i, parts_at, wrong[parts_at]))
        return out

    def write_episode(self, items: Sequence[Episode]) -> UserMemory:
        """Fresh memory for each episode, then its turns in order (a message: one conversation written
        with one prefill pass; a Decay: time passing), batched across episodes turn by turn. Episodes that
        share one past (the same `turns` list, e.g. the names task's unrelated questions) write it once."""
        m = self.model
        layers = list(m.memory_layers.values())
        first: dict[int, int] = {}
        source = [first.setdefault(id(it.turns), i) for i, it in enumerate(items)]  # the episode whose past is written
        written = sorted(set(source))
        rows = {i: m.users.empty(1) for i in written}  # per written past, one state per layer
        for step in steps([items[i].turns for i in written]):
            speaking = [written[j] for j in step.speaking]
            if speaking:  # pasts that are over compute nothing
                memory = stack_memories([rows[i] for i in speaking])
                memory, _ = m.write_turns(m.prepare([items[i].turns[step.turn] for i in speaking]), memory)
                for j, i in enumerate(speaking):
                    rows[i] = [s.select(j) for s in memory]
            for cycles, decaying in step.decaying.items():
                for i in (written[j] for j in decaying):
                    rows[i] = [layer.decay(s, cycles) for layer, s in zip(layers, rows[i])]
        return stack_memories([rows[i] for i in source])

    def decision_points(self, items: Sequence[Episode], rows: list[list[int]], predicts: Tensor,
                        tasks: Sequence[str] = DECISION_TASKS) -> list[tuple[int, int, bool]]:
        """(episode, position in the teacher-forced batch, never told?) of each episode of `tasks` with a decision point
        (`decision_index`): the position whose next token decides between the told answer and "not told"."""
        m = self.model
        render = lambda text: render_reply(m.tokenizer, m.chat_format, text)  # noqa: E731
        return [(i, int(predicts[i].nonzero()[k]), it.expect == "abstain")
                for i, it in enumerate(items) if (k := decision_index(it, rows[i], render, tasks)) is not None]

    def decision_reads(self, decisions: list[tuple[int, int, bool]], input_ids: Tensor, memory: UserMemory,
                       hidden: dict[int, Tensor]) -> DecisionReads:
        """What each memory layer's read sees at the decision points: its prepared slots (one row per decision) and
        its input state there, with the query's tags and token identity as in the forward (`hidden`: the forward's
        captured input state per memory layer position)."""
        m = self.model
        rows, cols, never = (torch.tensor(x, device=input_ids.device) for x in zip(*decisions))
        tokens = m._token_embeddings(input_ids[rows, cols][:, None]) if m.config.memory.token_keys else None
        W = m.config.memory.hide_recent_tokens  # the read hides the slots of the tokens just read, as in the forward
        tags = recent_token_windows(input_ids, W)[0][rows, cols][:, None] if W else None
        layers = [(layer, layer.slots(state).rows(rows), hidden[int(position)][rows, cols][:, None])  # (n, 1, C)
                  for (position, layer), state in zip(m.memory_layers.items(), memory)]
        return DecisionReads(never, tags, tokens, layers)

    def forward(self, items: Sequence[Episode]) -> tuple[Tensor, dict[str, Tensor]]:
        """Returns (loss, parts): loss = CE(value tokens) + frame_weight * CE(frame tokens) + match_weight *
        KL(bare || SEAM) on general replies (+ gate_close_weight * gate + gate_open_weight * gate_open +
        wrong_value_weight * wrong, see the module docstring); parts holds each term and the teacher-forced accuracy on the value tokens
        (detached; nan where a step has none of a role)."""
        m = self.model
        rows, roles = self.targets(items)
        memory = self.write_episode(items)
        batch, predicts = continuation_batch(
            m.prepare([it.question for it in items], [it.history for it in items]), rows, m.tokenizer.pad_token_id
        )
        role = torch.zeros_like(batch.input_ids)
        for i, r in enumerate(roles):
            role[i, predicts[i]] = torch.tensor(r, device=role.device)  # the role of the token each position predicts
        first = int(predicts.any(0).nonzero()[0])
        keep = role.shape[1] - first  # logits from the position before the first reply token on
        general = torch.tensor([MATCH in r for r in roles], device=role.device)  # (B,): rows of general questions
        gates = self.gate_close_weight > 0 and bool(general.any())
        about_user = (role == VALUE) | (role == FRAME)  # (B, T): positions that predict a reply about the user
        opens = self.gate_open_weight > 0 and bool(about_user.any())
        decisions = [] if self.decision_weight == 0 and self.kind_match_weight == 0 else self.decision_points(items, rows, predicts)
        out = m(batch.input_ids, batch.attention_mask, memory, logits_to_keep=keep, capture=gates or opens or bool(decisions))
        logits = out.logits.float()
        role, targets = role[:, first:], batch.input_ids[:, first + 1 :]
        logits, role = logits[:, :-1], role[:, :-1]  # the last position predicts nothing
        nan = logits.new_tensor(float("nan"))
        parts = {"value": nan, "frame": nan, "match": nan, "value_acc": nan, "gate": nan, "gate_open": nan, "wrong": nan,
                 "decision": nan, "kind_match": nan}
        loss = logits.new_zeros(())
        # Each memory layer's read factor (B, T) at every position (of its own input, as read).
        factors = ([layer.query_factor(out.hidden[int(p)].detach())[..., 0] for p, layer in m.memory_layers.items()]
                   if gates or opens else [])
        if gates:  # where the general rows' prompt and reply are
            where = batch.attention_mask.bool() & general[:, None]
            parts["gate"] = torch.cat([f[where] for f in factors]).mean() / 2
            loss = loss + self.gate_close_weight * parts["gate"]
        if opens:  # where a reply about the user is predicted
            parts["gate_open"] = torch.cat([(1 - f[about_user]).clamp(min=0) for f in factors]).mean()
            loss = loss + self.gate_open_weight * parts["gate_open"]
        if decisions:  # what each layer's read attends to at the decision point: the slots if told, else the abstain slot
            reads = self.decision_reads(decisions, batch.input_ids, memory, out.hidden)
            never = reads.never
            terms, ranks = [], []
            pairs = self.kind_match_weight > 0 and bool(never.any()) and bool((~never).any())
            for layer, slots, hidden in reads.layers:
                if self.decision_weight:
                    terms.append(decision_nll(layer.read_logits(slots, hidden, reads.tags, reads.tokens)[:, :, 0], never))
                if pairs:
                    score = layer.kind_match(slots, hidden)[:, 0].float()  # (n,)
                    ranks.append(F.softplus(KIND_MATCH_TEMPERATURE * (score[never][None, :] - score[~never][:, None])).mean())
            if terms:
                terms = torch.stack(terms)  # (layers, n): told and never-told decisions weigh alike, however many of each
                parts["decision"] = torch.stack([terms[:, group].mean() for group in (~never, never) if bool(group.any())]).mean()
                loss = loss + self.decision_weight * parts["decision"]
            if ranks:
                parts["kind_match"] = torch.stack(ranks).mean()
                loss = loss + self.kind_match_weight * parts["kind_match"]
        value, frame, match = role == VALUE, role == FRAME, role == MATCH
        if value.any() or frame.any():
            token_loss = F.cross_entropy(logits.transpose(1, 2), targets, reduction="none")  # (B, T)
            if value.any():
                parts["value"] = token_loss[value].mean()
                loss = loss + parts["value"]
                with torch.no_grad():
                    parts["value_acc"] = (logits.argmax(-1)[value] == targets[value]).float().mean()
            if frame.any():
                parts["frame"] = token_loss[frame].mean()
                loss = loss + self.frame_weight * parts["frame"]
        wrong = self.wrong_value_tokens(items) if self.wrong_value_weight > 0 else []
        if wrong:  # unlikelihood of each wrong value's first token, where the answer would turn into it
            positions = [predicts[i].nonzero()[:, 0] for i in range(len(items))]
            rows_, cols, tokens = zip(*[(i, int(positions[i][j]) - first, t) for i, j, t in wrong])
            log_p = logits[list(rows_), list(cols)].log_softmax(-1)[torch.arange(len(tokens)), list(tokens)]
            parts["wrong"] = -torch.log1p(-log_p.exp().clamp(max=1 - 1e-6)).mean()
            loss = loss + self.wrong_value_weight * parts["wrong"]
        if match.any():
            rows_with = match.any(1)
            with torch.no_grad():
                bare = m(batch.input_ids[rows_with], batch.attention_mask[rows_with], None, logits_to_keep=keep).logits.float()[:, :-1]
            seam = logits[rows_with].log_softmax(-1)
            kl = F.kl_div(seam, bare.log_softmax(-1), log_target=True, reduction="none").sum(-1)  # (b, T): KL(bare || SEAM)
            parts["match"] = kl[match[rows_with]].mean()
            loss = loss + self.match_weight * parts["match"]
        return loss, {k: v.detach() for k, v in parts.items()}
