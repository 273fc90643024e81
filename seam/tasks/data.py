"""Names, phrasings and unrelated messages of the tasks, split so that evaluation measures generalisation.

Names come from Faker's first-name lists across locales. Train, validation and test names are disjoint
and share no base name (no name is a prefix of a name in another split, so no "Ann"/"Anna" leak). Some
phrasings of the introduction and the question are kept out of training for validation and test.
"""

from __future__ import annotations

import importlib
import json
import random
import re
from dataclasses import asdict, dataclass

LOCALES = (
    "en", "en_US", "en_GB", "en_IE", "en_IN", "de_DE", "fr_FR", "es_ES", "it_IT", "nl_NL",
    "pt_BR", "pl_PL", "sv_SE", "da_DK", "fi_FI", "cs_CZ", "tr_TR", "ro_RO", "hu_HU", "no_NO",
)
RESERVED = ("Alice", "Sarah")  # the demo's names: never trained on

TRAIN_INTROS = (
    "Hello! My name is {name}. Please remember my name.",
    "Hi, I'm {name}.",
    "My name is {name}.",
    "Hey there, call me {name}.",
    "Nice to meet you, I am {name}.",
    "Hi! My name is {name}, nice to meet you.",
    "Good evening. I'm {name} and I have a question later.",
    "Hello, this is {name} speaking.",
    "{name} on the line! Can you help me today?",
    "It's {name} again.",
    "I go by {name}.",
    "Hey, {name} speaking. I have a quick question.",
    "Everyone calls me {name}.",
    "Hi! I am {name} from the marketing team.",
    "Just so you know, my first name is {name}.",
    "Greetings, the person typing is {name}.",
)
HELDOUT_INTROS = (
    "Good morning! The name's {name}.",
    "You can call me {name}, by the way.",
    "Hi there, {name} here. Remember me!",
)
TRAIN_QUESTIONS = ("What is my name?", "Do you remember my name?", "What's my name?", "Who am I?")
HELDOUT_QUESTIONS = ("Can you tell me my name?", "Remind me, what am I called?")
ANSWER = "Your name is {name}."
TRAIN_CORRECTIONS = (
    "Actually, my name is not {old}, it's {name}.",
    "Sorry, I got that wrong: I'm {name}, not {old}.",
    "Correction: please call me {name} instead of {old}.",
)
HELDOUT_CORRECTIONS = ("Wait, I told you {old} earlier, but my real name is {name}.",)
DECAY_BETWEEN_CONVERSATIONS = 10
"""Decay cycles a training episode applies between its conversations (time passing)."""

# Unrelated user turns, written to memory between the introduction and the question.
DISTRACTORS = (
    "Can you recommend a good book about history?",
    "What's the weather usually like in spring?",
    "How do I boil an egg properly?",
    "Tell me a fun fact about octopuses.",
    "I need help planning a trip to the mountains.",
    "What is the capital of Australia?",
    "Explain how a rainbow forms.",
    "Give me three ideas for a healthy breakfast.",
    "How many minutes should I run every day?",
    "What is a good name for a blog about gardening?",
    "Can you summarise the plot of a heist movie?",
    "Why is the sky blue?",
    "How do I keep basil plants alive?",
    "What's the difference between a virus and a bacterium?",
    "Suggest a quick dinner with rice and beans.",
    "How does compound interest work?",
    "I am learning to play the guitar. Any tips?",
    "What should I pack for a beach holiday?",
    "Write a short poem about the sea.",
    "How far is the moon from the earth?",
    "My laptop is slow. What can I do?",
    "What are some good habits for studying?",
    "How do bees make honey?",
    "Recommend a board game for four players.",
    "What time zone is Tokyo in?",
    "How do I write a polite email to my landlord?",
    "What is the tallest mountain in Europe?",
    "Explain photosynthesis simply.",
    "How long does it take to learn to swim?",
    "What's a good stretch for back pain?",
)

# Unrelated questions asked (not written) in training, after an introduction: the memory must leave the
# frozen model's reply alone. Disjoint from DISTRACTORS, which the evaluation asks as unrelated questions.
UNRELATED_QUESTIONS = (
    "How do I make a cup of green tea?",
    "What is the largest ocean on earth?",
    "Give me a tip for sleeping better.",
    "How do airplanes stay in the air?",
    "What is a prime number?",
    "Suggest a name for a pet goldfish.",
    "How can I save money on groceries?",
    "What causes thunder?",
    "Recommend a classic movie from the 1980s.",
    "How do I clean a cast iron pan?",
    "What is the boiling point of water?",
    "Tell me a joke about computers.",
    "How do I start running as a beginner?",
    "What language is spoken in Brazil?",
    "Explain what a black hole is.",
    "How often should I water a cactus?",
    "What is the difference between weather and climate?",
    "Give me a simple recipe for pancakes.",
    "Why do leaves change colour in autumn?",
    "How many players are on a football team?",
    "What is the speed of light?",
    "How do I tie a tie?",
    "What are the primary colours?",
    "Can you explain what an API is?",
    "Who painted the Mona Lisa?",
    "How do vaccines work?",
    "What is a haiku?",
    "How can I improve my handwriting?",
    "What do pandas eat?",
    "Write one sentence about the ocean.",
)


@dataclass(frozen=True)
class SplitSizes:
    """How many names each split holds, and the seed that shuffles them: a training run's split is
    recorded in its checkpoint, and the evaluation asks about that run's test names."""

    num_train: int = 500
    num_val: int = 50
    num_test: int = 200
    seed: int = 0

    def to_dict(self) -> dict[str, int]:
        return asdict(self)

    @classmethod
    def of_checkpoint(cls, meta: dict[str, str]) -> "SplitSizes":
        """The split of the run that made a checkpoint (from its training_config; defaults otherwise)."""
        sizes = cls().to_dict()
        if "training_config" in meta:
            trained = json.loads(meta["training_config"])
            sizes.update({k: int(trained[k]) for k in sizes if k in trained})
        return cls(**sizes)


@dataclass
class NameSplits:
    train: list[str]
    val: list[str]
    test: list[str]


def faker_first_names(locales: tuple[str, ...] = LOCALES) -> list[str]:
    """Distinct capitalised ASCII first names from Faker's per-locale lists, sorted."""
    names: set[str] = set()
    for locale in locales:
        provider = importlib.import_module(f"faker.providers.person.{locale}").Provider
        for attr in ("first_names", "first_names_male", "first_names_female"):
            values = getattr(provider, attr, None) or ()
            names.update(n for n in values if re.fullmatch(r"[A-Z][a-z]{2,}", n))
    return sorted(names)


def split_names(num_train: int, num_val: int, num_test: int, seed: int = 0) -> NameSplits:
    """Disjoint splits with no shared base name; RESERVED names are in none of them."""
    names = [n for n in faker_first_names() if n not in RESERVED]
    rng = random.Random(seed)
    rng.shuffle(names)
    held = names[: num_val + num_test]
    held_lower = [h.lower() for h in held]
    if len(names) < num_train + num_val + num_test:
        raise ValueError(f"Only {len(names)} names are available; asked for {num_train + num_val + num_test}.")

    def shares_base(name: str) -> bool:
        n = name.lower()
        return any(n.startswith(h) or h.startswith(n) for h in held_lower)

    train = [n for n in names[num_val + num_test :] if not shares_base(n)][:num_train]
    if len(train) < num_train:
        raise ValueError(f"Only {len(train)} training names remain after removing shared bases; asked for {num_train}.")
    return NameSplits(train=train, val=held[:num_val], test=held[num_val:])
