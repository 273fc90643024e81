"""Command lines built from config dataclasses, so that each default and help text lives in one place.

A script lists the fields of its config it exposes; `add_config_args` makes one flag per field, with the
field's docstring (the string literal under it, as litgpt writes configs) as the help and the
dataclass's default shown beside it. `config_from_args` builds the config from the parsed flags, and its
`__post_init__` validation becomes an argparse error (a sentence, exit status 2), never a traceback.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import inspect
import logging
import os
import sys
import textwrap
import types
import typing
from collections.abc import Callable, Iterable
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

NOT_GIVEN = argparse.SUPPRESS  # a flag not given leaves the dataclass's default in force


def field_docs(cls: type) -> dict[str, str]:
    """Docstrings of a dataclass's fields: the string literal right after each annotated field."""
    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if not dataclasses.is_dataclass(klass):
            continue
        try:
            tree = ast.parse(textwrap.dedent(inspect.getsource(klass)))
        except (OSError, TypeError):
            continue
        body = tree.body[0].body
        for node, after in zip(body, body[1:]):
            if (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and isinstance(after, ast.Expr)
                    and isinstance(after.value, ast.Constant) and isinstance(after.value.value, str)):
                docs[node.target.id] = " ".join(after.value.value.split())
    return docs


def comma_list(item: Callable[[str], object], choices: Iterable[str] | None = None) -> Callable[[str], tuple]:
    """An argparse type for comma-separated values ('0,1,5' -> (0, 1, 5)), each checked against `choices`."""
    allowed = tuple(choices) if choices is not None else None

    def parse(text: str) -> tuple:
        try:
            values = tuple(item(x.strip()) for x in text.split(",") if x.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected comma-separated {getattr(item, '__name__', 'value')}s, got {text!r}") from None
        if allowed is not None and (not values or any(v not in allowed for v in values)):
            raise argparse.ArgumentTypeError(f"choose from {', '.join(allowed)} (comma-separated), got {text!r}")
        return values

    return parse


def _parser_type(hint: object) -> tuple[Callable[[str], object] | None, bool]:
    """(argparse type, is_flag) for a field's type hint."""
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if typing.get_origin(hint) in (typing.Union, types.UnionType) and len(args) == 1:
        hint = args[0]  # X | None: the flag takes an X
    if hint is bool:
        return None, True
    if typing.get_origin(hint) in (tuple, list):
        inner = typing.get_args(hint)[0]
        return comma_list(inner if inner in (int, float, str) else str), False
    if hint in (int, float, str, Path):
        return hint, False
    return str, False


def _show(default: object) -> str:
    if isinstance(default, (tuple, list)):
        return ",".join(str(v) for v in default)
    return str(default)


def add_config_args(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup,
    cls: type,
    names: Iterable[str],
    flags: dict[str, str] | None = None,
    helps: dict[str, str] | None = None,
    types_: dict[str, Callable[[str], object]] | None = None,
) -> None:
    """One flag per field of `cls` in `names`: `--field-name` unless `flags` renames it, the field's
    docstring as help (or `helps`' text), the dataclass's default shown and kept (a flag not given is
    left out, so the default stays in the dataclass). `types_` overrides the parser of a field."""
    flags, helps, types_ = flags or {}, helps or {}, types_ or {}
    docs = field_docs(cls)
    hints = typing.get_type_hints(cls)
    by_name = {f.name: f for f in dataclasses.fields(cls)}
    for name in names:
        f = by_name[name]
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
        parse, is_flag = _parser_type(hints[name])
        help_text = (helps.get(name) or docs.get(name, "")).replace("%", "%%")
        flag = flags.get(name, "--" + name.replace("_", "-"))
        if is_flag:
            parser.add_argument(flag, dest=name, action=argparse.BooleanOptionalAction, default=NOT_GIVEN,
                                help=f"{help_text} (default: {'on' if default else 'off'})")
        else:
            shown = f" (default: {_show(default)})" if default is not None else ""
            parser.add_argument(flag, dest=name, type=types_.get(name, parse), default=NOT_GIVEN, help=help_text + shown,
                                metavar=flag.lstrip("-").upper().replace("-", "_"))


def config_from_args(parser: argparse.ArgumentParser, cls: type, args: argparse.Namespace, **fixed: object):
    """`cls` built from the flags given (and `fixed` values); its validation errors end as parser errors."""
    names = {f.name for f in dataclasses.fields(cls)}
    given = {k: v for k, v in vars(args).items() if k in names}
    try:
        return cls(**{**given, **fixed})
    except (ValueError, TypeError) as err:
        parser.error(str(err))


def add_model_args(p: argparse.ArgumentParser) -> None:
    """--model, --memory-layers, --device: which base model, where memory attaches, on what device."""
    p.add_argument("--model", default="smollm2-135m", help="bundled base model (smollm2-135m, gemma3-270m), HF folder or .gguf file")
    p.add_argument(
        "--memory-layers", default="auto",
        help="comma-separated decoder layers for memory, e.g. 3,6,9; 'auto' = 70/80/90%% of depth (21,24,27 on SmolLM2)",
    )
    p.add_argument("--device", default="cpu", help="torch device (cpu, cuda, cuda:1, mps)")


def build_experiment_config(args: argparse.Namespace):
    """The ExperimentConfig that add_model_args' flags describe."""
    from .lm.config import ExperimentConfig, parse_layer_positions

    device = args.device
    if device.startswith("cuda") and "LOCAL_RANK" in os.environ:  # under `accelerate launch`: one GPU per process
        device = f"cuda:{os.environ['LOCAL_RANK']}"
    return ExperimentConfig(model_name=args.model, memory_layer_positions=parse_layer_positions(args.memory_layers), device=device)


def setup_logging(log_dir: str | Path, filename: str) -> Path:
    """Log to the console and to log_dir/filename; returns the log file path."""
    log_dir = Path(log_dir)
    log_dir.mkdir(parents=True, exist_ok=True)
    path = log_dir / filename
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        handlers=[logging.StreamHandler(sys.stderr), logging.FileHandler(path)],
        force=True,
    )
    for noisy in ("httpx", "urllib3", "transformers.modeling_utils"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return path
