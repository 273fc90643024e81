"""Training SEAM's memory layers: the recall loss and the trainer."""

from .loss import RecallLoss
from .trainer import Trainer, TrainingConfig, training_task

__all__ = ["RecallLoss", "Trainer", "TrainingConfig", "training_task"]
