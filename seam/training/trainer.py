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
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from accelerate import Accelerator
from tqdm.auto import tqdm

from ..lm.model import MemoryAugmentedModel, trainable_parameters
from ..tasks.data import UNRELATED_QUESTIONS, SplitSizes, split_names
from ..tasks.episodes import make_items
from ..tasks.player import SeamSystem, run_episodes
from .loss import RecallLoss

VALIDATION_BATCH = 16
"""Users per batched call when validating (as the trainer always did)."""
VALIDATION_TOKENS = 12
"""Reply length when validating: enough for "Your name is <name>."."""

log = logging.getLogger(__name__)


@dataclass
class TrainingConfig:
    """The seed's TrainingConfig plus what a reproducible run needs."""

    learning_rate: float = 3e-3
    """Learning rate of the memory projections (AdamW; the seed used 1e-4 for a GPU run of 4,000 steps)."""
    gate_learning_rate: float = 3e-2
    """Learning rate of the zero-initialised output gates, which must open before anything else matters."""
    weight_decay: float = 0.01
    warmup_steps: int = 10
    num_epochs: int = 10
    """Training epochs over the training names."""
    batch_size: int = 8
    """Users (episodes) per step."""
    gradient_accumulation_steps: int = 1
    """Gradient accumulation steps."""
    max_grad_norm: float = 1.0
    max_steps: int | None = None
    """Stop after this many optimizer steps (overrides epochs)."""
    max_minutes: float | None = None
    """Stop (and save) after this much wall-clock training time."""
    eval_every: int = 50
    """Validate (recall by generation on held-out names) every N steps."""
    save_every: int = 200
    """Save checkpoint_step*.safetensors every N steps."""
    num_train: int = SplitSizes.num_train
    """Training names (disjoint from validation and test names, no shared base name)."""
    num_val: int = SplitSizes.num_val
    """Validation names (held out; validated with held-out phrasings)."""
    num_test: int = SplitSizes.num_test
    """Test names (held out for the evaluation; recorded in the checkpoint)."""
    max_distractors: int = 2
    """Unrelated conversations around each introduction (0..N)."""
    frame_weight: float = 0.5
    silence_weight: float = 0.5
    """Weight of the silence loss (the frozen model's reply to an unrelated question, unchanged by memory)."""
    silence_fraction: float = 0.25
    """Unrelated questions per step as a share of the batch, target = the frozen model's reply (0 turns it off)."""
    silence_tokens: int = 12
    """Leading tokens of the frozen model's reply that the silence loss keeps."""
    correction_fraction: float = 0.25
    """Share of training episodes that introduce another name first and then correct it."""
    seed: int = 0
    """Seed of the name split, the episodes and the initialisation."""
    checkpoint_dir: str = "./checkpoints"
    """Where checkpoints go."""
    log_dir: str = "./training_logs"
    """Where the log, training_history.json and its plot go."""
    resume: str | None = None
    """checkpoint_step*.safetensors to continue from (its .trainer.pt must be beside it)."""

    def __post_init__(self) -> None:
        for name in ("learning_rate", "gate_learning_rate"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)!r}.")
        for name in ("silence_tokens", "num_epochs", "batch_size", "gradient_accumulation_steps", "eval_every", "save_every",
                     "num_train", "num_val"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}.")
        if self.max_steps is not None and self.max_steps < 1:
            raise ValueError(f"max_steps must be a positive integer, got {self.max_steps!r}.")
        if not 0 <= self.silence_fraction <= 1:
            raise ValueError(f"silence_fraction must be in [0, 1], got {self.silence_fraction!r}.")
        for name in ("frame_weight", "silence_weight"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)!r}.")
        if self.max_distractors < 0:
            raise ValueError(f"max_distractors must be >= 0, got {self.max_distractors!r}.")


def recall_task(model: MemoryAugmentedModel, config: TrainingConfig) -> tuple[RecallLoss, int]:
    """The training task as `config` sets it up, and how many unrelated questions a step of
    config.batch_size episodes asks (their silence targets computed here, once)."""
    task = RecallLoss(model, frame_weight=config.frame_weight, silence_weight=config.silence_weight)
    per_step = min(config.batch_size, round(config.batch_size * config.silence_fraction))
    if per_step:
        log.info("Computing the frozen model's replies to %d unrelated questions (the silence targets)", len(UNRELATED_QUESTIONS))
        task.set_silence_targets(list(UNRELATED_QUESTIONS), max_tokens=config.silence_tokens)
    return task, per_step


@dataclass
class History:
    step: list[int] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    name_loss: list[float] = field(default_factory=list)
    teacher_forced_acc: list[float] = field(default_factory=list)
    eval_step: list[int] = field(default_factory=list)
    val_recall: list[float] = field(default_factory=list)
    elapsed_minutes: list[float] = field(default_factory=list)


class Trainer:
    def __init__(self, model: MemoryAugmentedModel, config: TrainingConfig):
        self.model, self.config = model, config
        self.accelerator = Accelerator(gradient_accumulation_steps=config.gradient_accumulation_steps, cpu=model.device.type == "cpu")
        random.seed(config.seed)
        torch.manual_seed(config.seed)
        splits = split_names(config.num_train, config.num_val, config.num_test, seed=config.seed)
        self.splits = splits
        self.val_items = make_items(splits.val, heldout_phrasings=True, seed=config.seed + 1, user_prefix="val")
        self.task, self.silence_per_step = recall_task(model, config)
        params = trainable_parameters(model)
        gates = [p for n, p in params.items() if n.endswith(".gate")]
        rest = [p for n, p in params.items() if not n.endswith(".gate")]
        self.optimizer = torch.optim.AdamW(
            [{"params": rest, "lr": config.learning_rate}, {"params": gates, "lr": config.gate_learning_rate, "weight_decay": 0.0}],
            weight_decay=config.weight_decay,
        )
        steps_per_epoch = math.ceil(config.num_train / (config.batch_size * config.gradient_accumulation_steps))
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
        self.best_recall = -1.0
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
            "best_recall": self.best_recall,
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "torch_rng": torch.get_rng_state(),
            "python_rng": list(random.getstate()[1]),
            "python_rng_pos": random.getstate()[2],
            "history": asdict(self.history),
        }
        torch.save(state, self._trainer_state_path(path))
        return path

    def resume(self, path: str | Path) -> None:
        path = Path(path)
        self.model.load_checkpoint(path)
        state_path = self._trainer_state_path(path)
        if not state_path.is_file():
            raise FileNotFoundError(f"Cannot resume exactly: {state_path} (optimizer, scheduler, RNG) is missing next to {path}.")
        state = torch.load(state_path, weights_only=True)  # never unpickle arbitrary objects
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        torch.set_rng_state(state["torch_rng"])
        random.setstate((3, tuple(state["python_rng"]), state["python_rng_pos"]))
        self.step, self.epoch, self.best_recall = state["step"], state["epoch"], state["best_recall"]
        self.history = History(**state["history"])
        log.info("Resumed from %s at step %d", path, self.step)

    # -- loop -------------------------------------------------------------------------------------
    def evaluate(self) -> float:
        self.model.eval()
        records = run_episodes(SeamSystem(self.model), self.val_items, VALIDATION_BATCH, VALIDATION_TOKENS)
        recall = sum(r["hit"] for r in records) / max(len(records), 1)
        misses = [f"{r['expected']} -> {r['reply']!r}" for r in records if not r["hit"]][:3]
        log.info("step %d: validation recall %.3f (by generation after a context clear); misses e.g. %s", self.step, recall, misses)
        return recall

    def train(self) -> dict:
        cfg = self.config
        self.ckpt_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        if cfg.resume:
            self.resume(cfg.resume)
        start = time.time()
        prior_minutes = self.history.elapsed_minutes[-1] if self.history.elapsed_minutes else 0.0
        bar = tqdm(total=self.total_steps, initial=self.step, desc="training", unit="step", disable=not self.accelerator.is_main_process)
        last_recall = self.history.val_recall[-1] if self.history.val_recall else float("nan")
        done = self.step >= self.total_steps
        while not done:
            rng = random.Random(cfg.seed * 1000 + self.epoch)
            items = make_items(
                self.splits.train, heldout_phrasings=False, seed=cfg.seed * 1000 + self.epoch,
                max_distractors=cfg.max_distractors, correction_fraction=cfg.correction_fraction,
            )
            rng.shuffle(items)
            batches = [items[i : i + cfg.batch_size] for i in range(0, len(items) - cfg.batch_size + 1, cfg.batch_size)]
            skip = (self.step * cfg.gradient_accumulation_steps) % max(1, len(batches)) if self.history.step else 0
            for batch in batches[skip:]:
                with self.accelerator.accumulate(self.task):
                    k = min(self.silence_per_step, len(batch))
                    unrelated = [(self.step * k + j) % len(self.task.silence_questions) for j in range(k)]
                    loss, name_loss, acc = self.task(batch, unrelated)
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
                self.history.step.append(self.step)
                self.history.loss.append(loss.item())
                self.history.name_loss.append(name_loss.item())
                self.history.teacher_forced_acc.append(acc.item())
                self.history.elapsed_minutes.append(minutes)
                out_of_time = cfg.max_minutes is not None and minutes >= cfg.max_minutes
                last = self.step >= self.total_steps or out_of_time
                main = self.accelerator.is_main_process  # with several processes, one evaluates and saves
                if main and (self.step % cfg.eval_every == 0 or last):
                    last_recall = self.evaluate()
                    self.history.eval_step.append(self.step)
                    self.history.val_recall.append(last_recall)
                    if last_recall > self.best_recall:
                        self.best_recall = last_recall
                        for old in self.ckpt_dir.glob("best_step*"):
                            old.unlink()
                        self.save("best")
                if main and self.step % cfg.save_every == 0:
                    self.save("checkpoint")
                self.accelerator.wait_for_everyone()
                bar.set_postfix(loss=f"{loss.item():.3f}", tf_acc=f"{acc.item():.2f}", val_recall=f"{last_recall:.2f}")
                bar.update(1)
                self.write_history()
                if last:
                    done = True
                    break
            self.epoch += 1
        bar.close()
        final = self.save("final") if self.accelerator.is_main_process else None
        self.write_history()
        return {"final_checkpoint": str(final), "best_val_recall": self.best_recall, "steps": self.step,
                "minutes": self.history.elapsed_minutes[-1] if self.history.elapsed_minutes else 0.0}

    def write_history(self) -> None:
        (self.log_dir / "training_history.json").write_text(json.dumps(asdict(self.history), indent=1))

    def plot(self, path: str | Path | None = None) -> Path:
        return plot_history(self.history, path or self.log_dir / "training_history.png")


def plot_history(history: History, path: str | Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
    a.plot(history.step, history.loss, alpha=0.4, label="loss (name + 0.5 x frame + 0.5 x silence)")
    a.plot(history.step, history.name_loss, alpha=0.8, label="loss on name tokens")
    a.set_xlabel("optimizer step"), a.set_ylabel("cross-entropy"), a.set_yscale("log"), a.legend(), a.set_title("Training loss")
    b.plot(history.step, history.teacher_forced_acc, alpha=0.4, label="teacher-forced name-token accuracy (train)")
    b.plot(history.eval_step, history.val_recall, "o-", label="validation recall (generation, held-out names)")
    b.set_ylim(0, 1.02), b.set_xlabel("optimizer step"), b.set_ylabel("accuracy"), b.legend(loc="lower right"), b.set_title("Accuracy")
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
