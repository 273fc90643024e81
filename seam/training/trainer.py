"""Training loop for the memory layers: AdamW with warmup, clipping, accumulation, exact resume.

HF Accelerate handles the device, gradient accumulation and (with `accelerate launch`) several GPUs;
nothing here is specific to one machine.
"""

from __future__ import annotations

import json
import logging
import math
import random
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import torch
from accelerate import Accelerator
from tqdm.auto import tqdm

from ..evaluation.memory_bench import MemoryBenchConfig, run_memory_benchmark
from ..lm.checkpoint import OPTION_FIELDS, option_parameters, reinitialise_options
from ..lm.model import MemoryAugmentedModel, trainable_parameters
from ..tasks.data import UNRELATED_QUESTIONS, SplitSizes, split_names
from ..tasks.episodes import Episode, make_items
from ..tasks.mix import MixConfig, TrainingMix, mix_shares
from ..tasks.player import SeamSystem, run_episodes
from ..tasks.suite import SuiteSizes
from .loss import RecallLoss

VALIDATION_BATCH = 16
"""Users per batched call when validating (as the trainer always did)."""
VALIDATION_TOKENS = 12
"""Reply length when validating: enough for "Your name is <name>."."""

log = logging.getLogger(__name__)


TASKS = ("memory", "names")


@dataclass
class TrainingConfig:
    """The seed's TrainingConfig plus what a reproducible run needs."""

    task: str = "memory"
    """What memory is trained on: "memory" (the memory benchmark's training split: every trained fact kind and
    name style, several facts per turn, facts spread over conversations, corrections and changes, questions
    about facts never told, general questions with memory loaded) or "names" (the original first-name task)."""
    learning_rate: float = 3e-3
    """Learning rate of the memory projections (AdamW; the seed used 1e-4 for a GPU run of 4,000 steps)."""
    gate_learning_rate: float = 3e-2
    """Learning rate of the zero-initialised output gates, which must open before anything else matters (and of the
    token channel's scalars, with token_keys and token_channel="scale")."""
    query_gate_learning_rate: float = 1e-2
    """Learning rate of the per-position read gates (--query-gate), which start at a factor of 1 and must learn
    where memory has nothing to say while the read they gate is already trained."""
    abstain_slot_learning_rate: float = 3e-3
    """Learning rate of the learned abstain slot's key and value (--abstain-slot), which start at a random key and a
    zero value and must learn what a read of an empty memory says; weight decay 0."""
    message_key_learning_rate: float = 1e-3
    """Learning rate of the message-key projection (--message-key), which starts at zero: keys as without it."""
    weight_decay: float = 0.01
    warmup_steps: int = 10
    num_epochs: int = 10
    """Training epochs (over episodes_per_epoch episodes, or the training names)."""
    episodes_per_epoch: int = 4000
    """Memory task: episodes drawn per epoch (each epoch draws new ones from the training split)."""
    batch_size: int = 8
    """Users (episodes) per step."""
    gradient_accumulation_steps: int = 1
    """Gradient accumulation steps."""
    max_grad_norm: float = 1.0
    max_steps: int | None = None
    """Stop after this many optimizer steps (overrides epochs)."""
    max_minutes: float | None = None
    """Stop (and save) after this much wall-clock training time (summed over resumed runs)."""
    eval_every: int = 50
    """Validate every N steps (memory task: the benchmark's rows on the validation split, scored together;
    names task: recall by generation on held-out names)."""
    save_every: int = 200
    """Save checkpoint_step*.safetensors every N steps."""
    num_train: int = SplitSizes.num_train
    """Names task: training names (disjoint from validation and test names, no shared base name)."""
    num_val: int = SplitSizes.num_val
    """Names task: validation names (held out; validated with held-out phrasings)."""
    num_test: int = SplitSizes.num_test
    """Names task: test names (held out for the evaluation; recorded in the checkpoint)."""
    max_distractors: int = 2
    """Names task: unrelated conversations around each introduction (0..N)."""
    frame_weight: float = 0.5
    """Weight of the answer sentence around the value ("You live in", the full stop, end of turn)."""
    match_weight: float = 1.0
    """Weight of KL(bare || SEAM) over the frozen model's reply to general questions, memory loaded."""
    match_tokens: int = 24
    """Tokens of the frozen model's greedy reply over which the KL term is taken."""
    gate_close_weight: float = 0.0
    """With --query-gate: weight of the mean read factor (halved, in [0, 1]) over every position of the general
    questions' prompts and replies, so the gates shut where nothing is about the user (0: off, the KL alone)."""
    gate_open_weight: float = 0.0
    """With --query-gate: weight of how far the read factor falls below 1 (mean of max(0, 1 - factor)) where a
    reply about the user is predicted (a value's sentence or a "not told" one), so the closing term does not
    weaken the read where it is needed (0: off)."""
    wrong_value_weight: float = 0.0
    """Weight of the unlikelihood of the values an answer must not give (a confusable fact's other value, the old
    value after a correction or change, the other facts of the turn or the past), at the token where the answer
    would turn into one of them (0: off)."""
    decision_weight: float = 0.0
    """Weight of the decision-point term (with the abstain slot): at the reply position where a told answer and
    the "not told" sentence part, each read attends to the memory's slots if the fact was told, to the abstain
    slot if not (single-fact and never-told episodes; 0: off)."""
    kind_match_weight: float = 0.0
    """Weight of the kind-match ranking term (with abstain_match): at the same decision points, each layer's kind-match
    score of a told question should exceed a never-told one's (a pairwise logistic loss over the batch's told x
    never-told decisions), so the score learns "was this kind told?" directly, not only through a read that may be
    saturated (0: off)."""
    silence_fraction: float = 0.25
    """Names task: unrelated questions per step as a share of the batch, matched to the frozen model (0: off)."""
    correction_fraction: float = 0.25
    """Names task: share of episodes that introduce another name first and then correct it."""
    mix: str = ""
    """Memory task: shares of the training mix to change, as kind=share pairs (e.g. "retention=0.15,fact=0.19";
    the other kinds keep seam.tasks.mix.MIX's shares; they are relative weights)."""
    seed: int = 0
    """Seed of the episodes and the initialisation."""
    checkpoint_dir: str = "./checkpoints"
    """Where checkpoints go."""
    log_dir: str = "./training_logs"
    """Where the log, training_history.json and its plot go."""
    resume: str | None = None
    """checkpoint_step*.safetensors to continue from (its .trainer.pt must be beside it)."""
    init_from: str | None = None
    """A warm start: memory weights to begin with (a checkpoint of this base model and layers; design options
    this run adds, e.g. --query-gate, start at their initialisation), with a fresh optimizer at step 0. The
    checkpoint's own training time is not counted in this run's minutes. Ignored with resume."""
    reinit: str = ""
    """With init_from: on/off options whose parameters restart at their initialisation after the warm start,
    comma-separated (e.g. "query_gate": gates that learned to shut are saturated and get almost no gradient).
    A resume of such a run continues its weights (the restart happened once, at its step 0)."""

    @property
    def reinit_options(self) -> list[str]:
        return [o.strip() for o in self.reinit.split(",") if o.strip()]

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ValueError(f"task must be one of {', '.join(TASKS)}, got {self.task!r}.")
        for name in ("learning_rate", "gate_learning_rate", "query_gate_learning_rate", "abstain_slot_learning_rate",
                     "message_key_learning_rate"):
            if not getattr(self, name) >= 0:  # 0 freezes that group (e.g. to train a new option alone first)
                raise ValueError(f"{name} must be >= 0 (0 freezes those parameters), got {getattr(self, name)!r}.")
        for name in ("match_tokens", "num_epochs", "batch_size", "gradient_accumulation_steps", "eval_every", "save_every",
                     "num_train", "num_val", "episodes_per_epoch"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}.")
        if self.max_steps is not None and self.max_steps < 1:
            raise ValueError(f"max_steps must be a positive integer, got {self.max_steps!r}.")
        if not 0 <= self.silence_fraction <= 1:
            raise ValueError(f"silence_fraction must be in [0, 1], got {self.silence_fraction!r}.")
        for name in ("frame_weight", "match_weight", "gate_close_weight", "gate_open_weight", "wrong_value_weight", "decision_weight",
                     "kind_match_weight"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)!r}.")
        mix_shares(self.mix)  # a ValueError names what is wrong
        unknown = [o for o in self.reinit_options if o not in OPTION_FIELDS]
        if unknown:
            raise ValueError(f"reinit: {', '.join(unknown)} is not among the options {', '.join(sorted(OPTION_FIELDS))}.")
        if self.reinit_options and not self.init_from:
            raise ValueError("reinit restarts options of a warm start: it needs init_from.")
        if self.max_distractors < 0:
            raise ValueError(f"max_distractors must be >= 0, got {self.max_distractors!r}.")


def training_task(model: MemoryAugmentedModel, config: TrainingConfig) -> RecallLoss:
    """The loss as `config` sets it up."""
    return RecallLoss(model, frame_weight=config.frame_weight, match_weight=config.match_weight, match_tokens=config.match_tokens,
                      gate_close_weight=config.gate_close_weight, gate_open_weight=config.gate_open_weight,
                      wrong_value_weight=config.wrong_value_weight, decision_weight=config.decision_weight,
                      kind_match_weight=config.kind_match_weight)


def names_episodes(splits, config: TrainingConfig, epoch: int) -> list[list[Episode]]:
    """The names task's batches of one epoch: name episodes, and per batch a share of unrelated questions asked
    of the same users' pasts (matched to the frozen model's reply)."""
    rng = random.Random(config.seed * 1000 + epoch)
    items = make_items(splits.train, heldout_phrasings=False, seed=config.seed * 1000 + epoch,
                       max_distractors=config.max_distractors, correction_fraction=config.correction_fraction)
    rng.shuffle(items)
    k = min(config.batch_size, round(config.batch_size * config.silence_fraction))
    batches = []
    for b, i in enumerate(range(0, len(items) - config.batch_size + 1, config.batch_size)):
        batch = items[i : i + config.batch_size]
        silent = [Episode("unrelated", f"{e.user}-unrelated", e.turns, UNRELATED_QUESTIONS[(b * k + j) % len(UNRELATED_QUESTIONS)],
                          None, {len(e.turns): "unrelated"}) for j, e in enumerate(batch[:k])]
        batches.append(batch + silent)
    return batches


def memory_episodes(config: TrainingConfig, epoch: int) -> list[list[Episode]]:
    """The memory task's batches of one epoch: new episodes from the training split's mix."""
    items = TrainingMix("train", seed=config.seed, config=MixConfig(shares=mix_shares(config.mix))).episodes(
        config.episodes_per_epoch, seed=epoch)
    return [items[i : i + config.batch_size] for i in range(0, len(items) - config.batch_size + 1, config.batch_size)]


VALIDATION_SIZES = SuiteSizes(
    names_per_style=4, per_kind=2, held_out_per_kind=0, binding=6, confusable=10, retention=8, retention_after=(1, 5, 20), decay=0,
    corrections=12, corrections_reinforced=6, changes=12, abstain_empty=10, abstain_other=20, general=50, general_in_conversation=20,
    general_after_fact=20, general_empty_memory=50, introductions=20, general_baselines=0, leaks=10,
    leak_tokens=32, leak_baselines=0, isolation=0, names_v1=0, in_context_items=0,
)
"""The memory task's validation: the benchmark's rows on the validation split (its values and phrasings), small."""

SELECTION_SIZES = replace(
    VALIDATION_SIZES, names_per_style=12, per_kind=6, binding=30, confusable=30, retention=60, corrections=30,
    corrections_reinforced=20, changes=30, abstain_empty=30, abstain_other=60, general=161, general_in_conversation=161,
    general_after_fact=161, general_empty_memory=161, introductions=60, leaks=30, held_out_per_kind=30,
)
"""The rows that choose which checkpoint ships (`scripts/validate_checkpoint.py --selection`), fixed in session 15
before any checkpoint was scored on them: sessions 13-15's bigger rows (60 retention items a row, 30-100 for
binding, confusions, updates and no harm) with the small ones grown too (names 12 a style, 6 a trained kind,
corrections after three statements 20, abstention 30 + 60): session 15's close call (0.669 against 0.661) was
decided by rows of 6-20 items. Session 16 (before any checkpoint was scored on them) asked every general
question of the validation split (161) in each of the three no-harm rows instead of 100 + 40 + 40: the bare model
answers about 40 % of them right, so those rows kept 40 + 14 + 15 questions and could not see the two answers
more that session 15's shipped checkpoint spoiled on the test split (about 65 a row now). Session 18 added the fourth
no-harm row, general questions with an empty memory (161), before any checkpoint with something to read there (the
abstain slot) was scored: a design without it reads exactly zero from an empty memory, so it scores 1.0 there; and,
after the first shipped slot answered "Hello! My name is Alice." with "You haven't told me your name yet." in the demo,
a fifth (a new user's first message stating a fact: 60), before any checkpoint was scored on it. Session 26 added
kinds never trained (30 a kind of the two validation-only kinds, `FactKind.validation_only`: a colleague's name and
a favourite drink), before any checkpoint was scored on them: the rows held no kind never trained, so selection
could not see the one change that moved the test split's never-trained row (session 25's training-only kinds).
Its episodes are drawn after the others', which stay as they were; the score, their mean, moves by the new row.
Session 36 added two more validation-only kinds to that row (a wedding anniversary, a date; a favourite gemstone),
further from every trained kind than a colleague's name and a drink are: on the test split the held-out kinds the read
refused were a language and a date, and the validation row, which the trained kinds' read already matched, showed 6 %
of told facts refused where the test split showed 20 % (results/design/abstain_match, stage 7). Only that row's
items changed (120 now); scores before and after the change are on different rows."""


def validation_results(model: MemoryAugmentedModel, seed: int, sizes: SuiteSizes = VALIDATION_SIZES) -> dict:
    """The memory task's validation: the benchmark's rows on the validation split (VALIDATION_SIZES, or bigger
    rows to choose between checkpoints), SEAM and the bare model (the general rows keep the questions it answers
    right), by greedy generation."""
    categories = ("fact", "binding", "retention", "update", "abstention", "no_harm")
    bench = MemoryBenchConfig(systems=("seam", "no-memory"), categories=categories, sizes=sizes,
                              kl_prompts=0, seed=seed, split="val", misses_shown=2)
    return run_memory_benchmark(model, bench)


TOLD_NOT_REFUSED_ROW = "told_not_answered_not_told"
"""The validation row of told facts not answered "not told" (1 - the benchmark's "told facts answered 'not told'"),
added in session 22 (scores before it lack the row): abstention rows reward refusing, and a refused told fact
otherwise counts only as one miss among recall's, so gemma's step 700 was chosen while it answered 31 % of told
facts "not told" on the test split."""


def validation_score(results: dict) -> tuple[float, dict[str, float]]:
    """The mean accuracy of SEAM over the validation rows (recall, binding, retention, updates, abstention,
    general questions the bare model answers right, leaks) and the share of told facts it did not answer "not
    told": no-harm, abstention and not refusing what it was told count as much as recall."""
    rows = {r["key"]: r["systems"]["seam"]["accuracy"] for r in results["rows"] if "seam" in r["systems"] and r["n"]}
    refused = results.get("told_answered_not_told", {}).get("seam")
    if refused and refused["n"]:
        rows[TOLD_NOT_REFUSED_ROW] = 1.0 - refused["share"]
    rows = {k: v for k, v in rows.items() if v == v}
    return (sum(rows.values()) / len(rows) if rows else 0.0), rows


@dataclass
class History:
    step: list[int] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    value_loss: list[float] = field(default_factory=list)
    frame_loss: list[float] = field(default_factory=list)
    match_kl: list[float] = field(default_factory=list)
    teacher_forced_acc: list[float] = field(default_factory=list)
    gate_close: list[float] = field(default_factory=list)
    """With query gates: the closing term (half the mean read factor over general rows; nan when not trained)."""
    gate_open: list[float] = field(default_factory=list)
    """With query gates: the opening term (mean shortfall of the read factor below 1 where a reply about the user
    is predicted; nan when not trained)."""
    wrong_value: list[float] = field(default_factory=list)
    """With wrong_value_weight: the unlikelihood term (nan when not trained or a step has no forbidden value)."""
    decision: list[float] = field(default_factory=list)
    """With decision_weight: the decision-point term (nan when not trained or a step has no such episode)."""
    kind_match: list[float] = field(default_factory=list)
    """With kind_match_weight: the kind-match ranking term (nan when not trained or a step lacks a told or a never-told
    decision)."""
    eval_step: list[int] = field(default_factory=list)
    val_score: list[float] = field(default_factory=list)
    val_rows: list[dict] = field(default_factory=list)
    elapsed_minutes: list[float] = field(default_factory=list)


class Trainer:
    def __init__(self, model: MemoryAugmentedModel, config: TrainingConfig):
        self.model, self.config = model, config
        off = [o for o in config.reinit_options if not getattr(model.config.memory, o)]
        if off:
            raise ValueError(f"reinit: this model has {', '.join(off)} off (turn it on, e.g. --{off[0].replace('_', '-')}).")
        self.accelerator = Accelerator(gradient_accumulation_steps=config.gradient_accumulation_steps, cpu=model.device.type == "cpu")
        random.seed(config.seed)
        torch.manual_seed(config.seed)
        self.splits = split_names(config.num_train, config.num_val, config.num_test, seed=config.seed)
        if config.task == "names":
            self.val_items = make_items(self.splits.val, heldout_phrasings=True, seed=config.seed + 1, user_prefix="val")
            per_epoch = config.num_train
        else:
            per_epoch = config.episodes_per_epoch
        self.task = training_task(model, config)
        params = trainable_parameters(model)
        # the output gates and the token channel's scalars (token_channel="scale"): scalars that scale a path, no decay
        gates = [n for n in params if n.endswith(".gate") or n.endswith("_scale")]
        optional = [(names, lr, decay) for names, lr, decay in (  # (names, learning rate, weight decay)
            ([n for n in params if ".query_gate." in n], config.query_gate_learning_rate, 0.0),  # (not its norm: a projection's input)
            ([n for n in params if ".abstain_" in n], config.abstain_slot_learning_rate, 0.0),
            ([n for n in params if ".message_key_" in n], config.message_key_learning_rate, config.weight_decay),
        ) if names]
        taken = set(gates).union(*(names for names, _, _ in optional))
        rest = [n for n in params if n not in taken]
        self.group_names = [rest, gates] + [names for names, _, _ in optional]
        """Each optimizer group's parameter names: the rest, the gates, then a group for each of the query gates, the abstain
        slot and the message key that the design has, in that order (older runs' optimizer states still resume)."""
        groups = [{"params": [params[n] for n in rest], "lr": config.learning_rate},
                  {"params": [params[n] for n in gates], "lr": config.gate_learning_rate, "weight_decay": 0.0}]
        groups += [{"params": [params[n] for n in names], "lr": lr, "weight_decay": decay} for names, lr, decay in optional]
        self.optimizer = torch.optim.AdamW(groups, weight_decay=config.weight_decay)
        steps_per_epoch = max(1, per_epoch // (config.batch_size * config.gradient_accumulation_steps))
        self.total_steps = config.max_steps or steps_per_epoch * config.num_epochs
        warmup = config.warmup_steps
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer,
            lambda s: min(1.0, (s + 1) / max(1, warmup)) * max(0.1, 0.5 * (1 + math.cos(math.pi * min(1.0, s / max(1, self.total_steps))))),
        )
        self.task, self.optimizer, self.scheduler = self.accelerator.prepare(self.task, self.optimizer, self.scheduler)
        self.step = 0
        self.epoch = 0
        self.history = History()
        self.best_score = -1.0
        self.ckpt_dir = Path(config.checkpoint_dir)
        self.log_dir = Path(config.log_dir)

    # -- state for exact resume -------------------------------------------------------------------
    def _trainer_state_path(self, ckpt: Path) -> Path:
        return ckpt.with_suffix(".trainer.pt")

    def save(self, kind: str) -> Path:
        path = self.ckpt_dir / f"{kind}_step{self.step}.safetensors"
        self.model.save_checkpoint(path, {"step": str(self.step), "training_config": json.dumps(asdict(self.config))})
        state = {
            "step": self.step,
            "epoch": self.epoch,
            "best_score": self.best_score,
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "torch_rng": torch.get_rng_state(),
            "python_rng": list(random.getstate()[1]),
            "python_rng_pos": random.getstate()[2],
            "history": json.dumps(asdict(self.history)),
        }
        torch.save(state, self._trainer_state_path(path))
        return path

    def resume(self, path: str | Path) -> None:
        path = Path(path)
        self.model.load_checkpoint(path, new_options=self.model.config.memory.query_gate)
        state_path = self._trainer_state_path(path)
        if not state_path.is_file():
            raise FileNotFoundError(f"Cannot resume exactly: {state_path} (optimizer, scheduler, RNG) is missing next to {path}.")
        state = torch.load(state_path, weights_only=True)  # never unpickle arbitrary objects
        self._load_optimizer_state(state, path)
        torch.set_rng_state(state["torch_rng"])
        random.setstate((3, tuple(state["python_rng"]), state["python_rng_pos"]))
        self.step, self.epoch, self.best_score = state["step"], state["epoch"], state["best_score"]
        self.history = History(**json.loads(state["history"]))
        for name in ("gate_close", "gate_open", "wrong_value", "decision", "kind_match"):  # runs from before these were recorded: nan
            column = getattr(self.history, name)
            column[:0] = [float("nan")] * (len(self.history.step) - len(column))
        log.info("Resumed from %s at step %d", path, self.step)

    def _load_optimizer_state(self, state: dict, path: Path) -> None:
        """The optimizer and schedule of a resumed run. A run that adds the query gate to one trained without it (the
        only design change a resume may make) continues every old parameter's moments and learning rate exactly;
        the gate's parameters start fresh, its group at its learning rate times the schedule's factor at this step."""
        saved, schedule = state["optimizer"], state["scheduler"]
        sizes = [len(g["params"]) for g in saved["param_groups"]]
        names = self.group_names
        memory = self.model.config.memory  # the gate's group is the last only without the abstain slot and the message key
        adds_gate = memory.query_gate and not (memory.abstain_slot or memory.message_key) and len(sizes) == len(names) - 1
        if adds_gate:  # the old run's groups: these names without the gate's own parameters
            new = option_parameters(self.model, ["query_gate"])
            names = [[n for n in group if n not in new] for group in names[:-1]]
        if sizes != [len(group) for group in names]:
            raise ValueError(f"Cannot resume {path}: its optimizer state holds parameter groups of sizes {sizes}, this model's "
                             f"are {[len(group) for group in self.group_names]} (a resume may add --query-gate, no other "
                             f"design change; start a new run with --init-from instead).")
        if adds_gate:
            old_ids = {n: i for i, n in enumerate(n for group in names for n in group)}
            mine = self.optimizer.state_dict()
            new_ids = {n: i for i, n in enumerate(n for group in self.group_names for n in group)}
            saved = {"state": {new_ids[n]: saved["state"][i] for n, i in old_ids.items() if i in saved["state"]},
                     "param_groups": [{**old, "params": ours["params"]} for old, ours in zip(saved["param_groups"], mine["param_groups"])]
                     + [mine["param_groups"][-1]]}
            base = self.config.query_gate_learning_rate
            schedule = {**schedule, "base_lrs": [*schedule["base_lrs"], base], "_last_lr": [*schedule["_last_lr"], base]}
        self.optimizer.load_state_dict(saved)
        self.scheduler.load_state_dict(schedule)
        if adds_gate:
            inner = getattr(self.scheduler, "scheduler", self.scheduler)
            group = self.optimizer.param_groups[-1]
            group["initial_lr"] = base
            group["lr"] = inner._last_lr[-1] = base * inner.lr_lambdas[-1](inner.last_epoch)
            log.info("Resuming with the query gate added: its parameters start at their initialisation, learning rate %.2g", group["lr"])

    # -- loop -------------------------------------------------------------------------------------
    def evaluate(self) -> tuple[float, dict[str, float]]:
        """The validation score (higher is better) and its parts."""
        self.model.eval()
        if self.config.task == "names":
            records = run_episodes(SeamSystem(self.model), self.val_items, VALIDATION_BATCH, VALIDATION_TOKENS)
            recall = sum(r["hit"] for r in records) / max(len(records), 1)
            misses = [f"{r['expected']} -> {r['reply']!r}" for r in records if not r["hit"]][:3]
            log.info("step %d: validation recall %.3f (by generation after a context clear); misses e.g. %s", self.step, recall, misses)
            return recall, {"recall": recall}
        results = validation_results(self.model, self.config.seed)
        score, rows = validation_score(results)
        log.info("step %d: validation score %.3f (mean of the rows below, validation split, by generation after a context clear)",
                 self.step, score)
        for key, acc in rows.items():
            log.info("    %-34s %.3f", key, acc)
        for key, misses in results["worst_misses"].get("rows", {}).items():
            log.info("    misses %s: %s", key, [f"{m['question']} -> {m['reply']!r}" for m in misses][:2])
        return score, rows

    def batches(self) -> list[list[Episode]]:
        """This epoch's batches for this process (with several processes, each takes every n-th batch)."""
        cfg = self.config
        batches = names_episodes(self.splits, cfg, self.epoch) if cfg.task == "names" else memory_episodes(cfg, self.epoch)
        return batches[self.accelerator.process_index :: self.accelerator.num_processes]

    def train(self) -> dict:
        cfg = self.config
        self.ckpt_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        if cfg.resume:
            self.resume(cfg.resume)
        elif cfg.init_from:
            self.model.load_checkpoint(cfg.init_from, new_options=True)
            log.info("Warm start from %s (fresh optimizer, step 0)", cfg.init_from)
            if cfg.reinit_options:
                reset = reinitialise_options(self.model, cfg.reinit_options)
                log.info("Restarted at their initialisation (%s): %d parameter(s)", cfg.reinit, len(reset))
        if cfg.task == "memory":  # the whole mix, the kinds --mix left at MIX's shares too (they are relative weights)
            shares = dict(mix_shares(cfg.mix))
            log.info("Training mix: %s", ", ".join(f"{kind} {share / sum(shares.values()):.1%}" for kind, share in shares.items()))
        start = time.time()
        prior_minutes = self.history.elapsed_minutes[-1] if self.history.elapsed_minutes else 0.0
        bar = tqdm(total=self.total_steps, initial=self.step, desc="training", unit="step", disable=not self.accelerator.is_main_process)
        last_score = self.history.val_score[-1] if self.history.val_score else float("nan")
        done = self.step >= self.total_steps or (cfg.max_minutes is not None and prior_minutes >= cfg.max_minutes)
        while not done:
            batches = self.batches()
            skip = (self.step * cfg.gradient_accumulation_steps) % max(1, len(batches)) if self.history.step else 0
            for batch in batches[skip:]:
                self.model.train()
                with self.accelerator.accumulate(self.task):
                    loss, parts = self.task(batch)
                    self.accelerator.backward(loss)
                    if self.accelerator.sync_gradients:
                        self.accelerator.clip_grad_norm_(list(trainable_parameters(self.model).values()), cfg.max_grad_norm)
                    self.optimizer.step()
                    self.scheduler.step()
                    self.optimizer.zero_grad()
                if not self.accelerator.sync_gradients:
                    continue
                self.step += 1
                minutes = prior_minutes + (time.time() - start) / 60
                h = self.history
                h.step.append(self.step)
                h.loss.append(loss.item())
                h.value_loss.append(parts["value"].item())
                h.frame_loss.append(parts["frame"].item())
                h.match_kl.append(parts["match"].item())
                h.teacher_forced_acc.append(parts["value_acc"].item())
                h.gate_close.append(parts["gate"].item())
                h.gate_open.append(parts["gate_open"].item())
                h.wrong_value.append(parts["wrong"].item())
                h.decision.append(parts["decision"].item())
                h.kind_match.append(parts["kind_match"].item())
                h.elapsed_minutes.append(minutes)
                out_of_time = cfg.max_minutes is not None and minutes >= cfg.max_minutes
                last = self.step >= self.total_steps or out_of_time
                main = self.accelerator.is_main_process  # with several processes, one evaluates and saves
                if main and (self.step % cfg.eval_every == 0 or last):
                    last_score, rows = self.evaluate()
                    h.eval_step.append(self.step)
                    h.val_score.append(last_score)
                    h.val_rows.append(rows)
                    if last_score > self.best_score:
                        self.best_score = last_score
                        for old in self.ckpt_dir.glob("best_step*"):
                            old.unlink()
                        self.save("best")
                if main and self.step % cfg.save_every == 0:
                    self.save("checkpoint")
                self.accelerator.wait_for_everyone()
                bar.set_postfix(loss=f"{loss.item():.3f}", kl=f"{parts['match'].item():.3f}", tf_acc=f"{parts['value_acc'].item():.2f}",
                                val=f"{last_score:.2f}")
                bar.update(1)
                self.write_history()
                if last:
                    done = True
                    break
            else:
                self.epoch += 1
        bar.close()
        final = self.save("final") if self.accelerator.is_main_process else None
        self.write_history()
        return {"final_checkpoint": str(final), "best_val_score": self.best_score, "steps": self.step,
                "minutes": self.history.elapsed_minutes[-1] if self.history.elapsed_minutes else 0.0}

    def write_history(self) -> None:
        (self.log_dir / "training_history.json").write_text(json.dumps(asdict(self.history), indent=1))

    def plot(self, path: str | Path | None = None) -> Path:
        return plot_history(self.history, path or self.log_dir / "training_history.png")


def plot_history(history: History, path: str | Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def smooth(xs: list[float], k: int = 20) -> list[float]:
        out, window = [], []
        for x in xs:
            if x == x:
                window = (window + [x])[-k:]
            out.append(sum(window) / len(window) if window else float("nan"))
        return out

    fig, (a, b) = plt.subplots(1, 2, figsize=(15, 4.6), gridspec_kw={"width_ratios": [1, 1.1]})
    a.plot(history.step, smooth(history.value_loss), label="cross-entropy on values and 'not told' replies")
    a.plot(history.step, smooth(history.frame_loss), label="cross-entropy on the answer sentence around a value")
    a.plot(history.step, smooth(history.match_kl), label="KL(bare || SEAM) on general replies, memory loaded")
    for column, label in ((history.gate_close, "closing term: half the mean read factor, general rows"),
                          (history.gate_open, "opening term: read factor's shortfall below 1, replies about the user"),
                          (history.wrong_value, "unlikelihood of a wrong value where the answer would turn into it"),
                          (history.decision, "decision point: -log attention on the slots (told) / the abstain slot"),
                          (history.kind_match, "kind-match ranking: told over never told, decision points")):
        if any(x == x for x in column):  # only runs that trained the term
            a.plot(history.step, smooth(column), ls="--", label=label)
    a.set_xlabel("optimizer step"), a.set_ylabel("nats per token (mean of 20 steps)"), a.set_yscale("log"), a.legend(fontsize=8)
    a.set_title("Training loss")
    b.plot(history.step, smooth(history.teacher_forced_acc), alpha=0.5, label="teacher-forced value-token accuracy (train)")
    b.plot(history.eval_step, history.val_score, "o-", lw=2, label="validation score (mean of rows)")
    keys = sorted({k for rows in history.val_rows for k in rows})
    colours = plt.get_cmap("tab20")  # 20 distinct colours: the rows outnumber the default cycle's ten
    for i, key in enumerate(keys):  # markers: a run validated once still shows every row
        b.plot(history.eval_step, [rows.get(key, float("nan")) for rows in history.val_rows], lw=0.8, alpha=0.7, marker=".",
               color=colours(i % 20), ls="-" if i < 20 else "--", label=key)
    b.set_ylim(0, 1.02), b.set_xlabel("optimizer step"), b.set_ylabel("accuracy"), b.set_title("Validation (generation, held-out values)")
    b.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
