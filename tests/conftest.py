"""Shared fixtures: a byte-level BPE tokenizer and tiny random causal LMs of the real architectures, built in code.

Nothing here downloads: the tokenizer is trained on the sentences below, the models are random
`LlamaConfig`, `Gemma3TextConfig`, `Qwen2Config` and `GPT2Config` instances a few thousand parameters
wide, seeded so every run builds the same weights.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import warnings

import anyio

# anyio imports its API lazily, on first use, and pytest rewrites anyio's modules as it imports them (anyio is
# a pytest plugin). A first use inside a test server's thread (starlette's FileResponse -> anyio.open_file)
# while the main thread compiles can crash CPython 3.11's compiler ("SystemError: AST constructor recursion
# depth mismatch", about one suite run in ten). Resolve every lazy name once, here, in the main thread.
with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # deprecated aliases warn on access
    for _name in dir(anyio):
        if not _name.startswith("_"):
            getattr(anyio, _name)

import pytest
import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import (
    AutoModelForCausalLM,
    Gemma3TextConfig,
    GPT2Config,
    LlamaConfig,
    PretrainedConfig,
    PreTrainedModel,
    PreTrainedTokenizerFast,
    Qwen2Config,
)

from seam.lm import ExperimentConfig, MemoryAugmentedModel
from seam.memory import MemoryConfig

IM_START, IM_END, PAD = "<|im_start|>", "<|im_end|>", "<pad>"
SPECIAL_TOKENS = [PAD, IM_START, IM_END]

# ChatML, as SmolLM2 ships it (without the default system turn).
CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

NAMES = ["Alice", "Sarah", "Bob", "Maria", "Kenji", "Olga", "Priya", "Tom", "Lucia", "Ahmed"]
CORPUS = [
    *(f"Hello! My name is {n}. Please remember my name." for n in NAMES),
    *(f"Nice to meet you, {n}!" for n in NAMES),
    *(f"What is my name? Your name is {n}." for n in NAMES),
    "I live in Paris and I like green tea.",
    "The weather is nice today, is it not?",
    "User: Hi there\nAssistant: Hello, how can I help you?",
    "Tell me a short story about a cat and a dog.",
    "My favourite colour is blue and my dog is called Rex.",
    "Thank you very much, see you tomorrow.",
]


def build_tokenizer_backend() -> Tokenizer:
    """A byte-level BPE (any text encodes, offsets are exact) trained on CORPUS with the ChatML specials."""
    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    backend.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(
        vocab_size=400, special_tokens=SPECIAL_TOKENS, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False
    )
    backend.train_from_iterator(CORPUS, trainer=trainer)
    return backend


def wrap_tokenizer(backend: Tokenizer, chat_template: str | None) -> PreTrainedTokenizerFast:
    """A transformers fast tokenizer (offsets mapping, apply_chat_template) over a copy of `backend`."""
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=Tokenizer.from_str(backend.to_str()),
        pad_token=PAD,
        eos_token=IM_END,
        bos_token=IM_START,
    )
    if chat_template is not None:
        tokenizer.chat_template = chat_template
    return tokenizer


@pytest.fixture(scope="session")
def tokenizer_backend() -> Tokenizer:
    return build_tokenizer_backend()


def tiny_config(arch: str, vocab_size: int, **overrides) -> PretrainedConfig:
    """A tiny config of a real architecture: hidden 32, 2-4 layers, a 256-token context. `overrides` go to the
    config's constructor (so derived fields such as head_dim follow a changed hidden_size)."""
    common = dict(vocab_size=vocab_size, pad_token_id=0, bos_token_id=1, eos_token_id=2, tie_word_embeddings=False)
    if arch == "llama":
        cls, fields = LlamaConfig, dict(
            hidden_size=32, intermediate_size=64, num_hidden_layers=4, num_attention_heads=4, num_key_value_heads=2,
            max_position_embeddings=256,
        )
    elif arch == "gemma3":
        # Sliding window smaller than the prompts, so the KV-cache tests cover sliding-window layers too.
        cls, fields = Gemma3TextConfig, dict(
            hidden_size=32, intermediate_size=64, num_hidden_layers=4, num_attention_heads=4, num_key_value_heads=1,
            head_dim=8, max_position_embeddings=256, sliding_window=8,
            layer_types=["sliding_attention", "sliding_attention", "sliding_attention", "full_attention"],
        )
    elif arch == "qwen2":
        cls, fields = Qwen2Config, dict(
            hidden_size=32, intermediate_size=64, num_hidden_layers=3, num_attention_heads=4, num_key_value_heads=2,
            max_position_embeddings=256,
        )
    elif arch == "gpt2":
        cls, fields = GPT2Config, dict(n_embd=32, n_layer=2, n_head=2, n_positions=256)
    else:
        raise ValueError(f"unknown tiny architecture {arch!r}")
    return cls(**{**common, **fields, **overrides})


def build_tiny_model(arch: str, vocab_size: int, seed: int = 0, **overrides) -> PreTrainedModel:
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(tiny_config(arch, vocab_size, **overrides), dtype=torch.float32)
    return model.eval()


# GPT-2 is the architecture without a chat template in these tests, as Gemma 3 270M is in the bundle.
CHAT_FORMAT_OF = {"llama": "template", "gemma3": "template", "qwen2": "template", "gpt2": "plain"}
ARCHS = list(CHAT_FORMAT_OF)


def tiny_memory_config() -> MemoryConfig:
    return MemoryConfig(buffer_slots=16, store_slots=8, num_heads=2)


def build_seam(
    base: PreTrainedModel,
    tokenizer: PreTrainedTokenizerFast,
    positions: list[int] | None = None,
    seed: int = 0,
    **config_fields,
) -> MemoryAugmentedModel:
    """MemoryAugmentedModel on an in-memory base model; model_name is not bundled, so chat_format follows the tokenizer.

    Memory layers go after decoder layers 1 and 2 (GPT-2, with two layers: 0 and 1); `seed` seeds their weights.
    """
    torch.manual_seed(seed)
    arch = base.config.model_type
    fields = dict(model_name=f"tiny-{arch}", memory=tiny_memory_config(), max_new_tokens=6)
    fields.update(config_fields)
    config = ExperimentConfig(memory_layer_positions=positions or ([0, 1] if arch == "gpt2" else [1, 2]), **fields)
    return MemoryAugmentedModel(config, base_model=base, tokenizer=tokenizer)


class TinyLM:
    """One architecture's tiny base model with a matching tokenizer, and a SEAM model factory that detaches on teardown."""

    def __init__(self, arch: str, tokenizer: PreTrainedTokenizerFast):
        self.arch = arch
        self.tokenizer = tokenizer
        self._built: list[MemoryAugmentedModel] = []

    def base(self, seed: int = 0, **overrides) -> PreTrainedModel:
        return build_tiny_model(self.arch, len(self.tokenizer), seed=seed, **overrides)

    def seam(self, base: PreTrainedModel | None = None, positions: list[int] | None = None, **fields) -> MemoryAugmentedModel:
        """A SEAM model on `base` (default: a fresh seeded one); `fields` go to build_seam (seed, ExperimentConfig fields)."""
        model = build_seam(base if base is not None else self.base(), self.tokenizer, positions, **fields)
        self._built.append(model)
        return model

    def close(self) -> None:
        for model in self._built:
            model.detach()


def tiny_lm(arch: str, backend: Tokenizer) -> TinyLM:
    template = CHATML_TEMPLATE if CHAT_FORMAT_OF[arch] == "template" else None
    return TinyLM(arch, wrap_tokenizer(backend, template))


@pytest.fixture(params=ARCHS)
def tiny(request, tokenizer_backend: Tokenizer) -> Iterator[TinyLM]:
    """Each architecture in turn: GPT-2 with the plain tokenizer, the others with the ChatML one."""
    lm = tiny_lm(request.param, tokenizer_backend)
    yield lm
    lm.close()


@pytest.fixture
def tiny_llama(tokenizer_backend: Tokenizer) -> Iterator[TinyLM]:
    lm = tiny_lm("llama", tokenizer_backend)
    yield lm
    lm.close()


@pytest.fixture
def tiny_gpt2(tokenizer_backend: Tokenizer) -> Iterator[TinyLM]:
    lm = tiny_lm("gpt2", tokenizer_backend)
    yield lm
    lm.close()


def open_gates(model: MemoryAugmentedModel, value: float = 0.5) -> None:
    """Make memory reads matter (an untrained layer's gate is 0)."""
    with torch.no_grad():
        for layer in model.memory_layers.values():
            layer.gate.fill_(value)


def first_greedy_tokens(model: MemoryAugmentedModel, texts: list[str]) -> list[int]:
    """The token the bare model would reply with first to each message (set as end of turn, a reply ends at once)."""
    batch = model.prepare(texts)
    with torch.no_grad():
        return model(batch.input_ids, batch.attention_mask, None, logits_to_keep=1).logits[:, -1].argmax(-1).tolist()


class CharCountEncoder:
    """Stands in for MiniLM in tests: unit vectors of letter counts (similar words -> similar vectors)."""

    def encode(self, texts: list[str]) -> torch.Tensor:
        counts = torch.zeros(len(texts), 26)
        for i, text in enumerate(texts):
            for c in text.lower():
                if "a" <= c <= "z":
                    counts[i, ord(c) - 97] += 1
        return torch.nn.functional.normalize(counts, dim=-1)


@pytest.fixture(scope="module")
def one_torch_thread() -> Iterator[None]:
    """One torch thread for a test module (its timings and batched/unbatched comparisons stay stable), then back."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


REPO = Path(__file__).resolve().parents[1]


def load_script(relative: str, name: str | None = None):
    """A script of the repo that is not a package module (bench/run.py, scripts/..., results/design/...), imported by
    its path, as a module named `name` (default: its file name)."""
    path = REPO / relative
    spec = importlib.util.spec_from_file_location(name or path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
