"""The `seam` console command; `seam serve` starts the OpenAI-compatible server with per-user memory.

    seam serve                                   # SmolLM2 + the shipped memory, http://127.0.0.1:8000, memory in ./memory
    SEAM_API_KEY=secret seam serve --port 8080 --memory-dir /var/lib/seam
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from ..cli import add_config_args, config_from_args
from .config import ServeCommand, ServerConfig

log = logging.getLogger("seam.serve")

COMMAND_FLAGS = ["model", "checkpoint", "memory_dir", "host", "port", "device", "threads", "log_level"]
SERVER_FLAGS = ["api_key", "max_batch", "batch_window_ms", "max_pending", "default_max_tokens", "max_tokens_limit",
                "default_temperature", "max_users_in_ram"]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="seam", description="SEAM: memory for frozen language models.")
    commands = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = commands.add_parser("serve", help="serve OpenAI-compatible chat completions with per-user memory",
                                description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_config_args(serve, ServeCommand, COMMAND_FLAGS)
    add_config_args(serve, ServerConfig, SERVER_FLAGS,
                    helps={"api_key": "Bearer key every API route requires (default: $SEAM_API_KEY; neither: no authentication, "
                                      "only sensible on 127.0.0.1). Prefer the environment variable: a flag shows in `ps`."})
    serve.set_defaults(subparser=serve)  # so that a bad value is reported with `seam serve`'s usage
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    serve_parser = args.subparser
    command = config_from_args(serve_parser, ServeCommand, args)
    api_key = getattr(args, "api_key", None) or os.environ.get("SEAM_API_KEY") or None
    server_config = config_from_args(serve_parser, ServerConfig, args, api_key=api_key)
    serve(command, server_config)
    return 0


def serve(command: ServeCommand, server_config: ServerConfig) -> None:
    """Load the model and its checkpoint, then serve until interrupted."""
    import torch
    import uvicorn

    from ..lm.checkpoint import load_trained_model, resolve_checkpoint
    from ..lm.config import ExperimentConfig
    from .app import create_app

    logging.basicConfig(level=command.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if command.threads is not None:
        torch.set_num_threads(command.threads)
    if server_config.api_key is None and not command.loopback:
        log.warning("Listening on %s without an API key: anyone who can reach it can read and change every user's memory. "
                    "Set SEAM_API_KEY.", command.host)
    checkpoint = resolve_checkpoint(command.checkpoint, command.model)
    config = ExperimentConfig(model_name=command.model, memory_dir=command.memory_dir, device=command.device)
    model, _ = load_trained_model(config, checkpoint)
    log.info("Memory of each user persists in %s; serving on http://%s:%d", os.path.abspath(command.memory_dir), command.host,
             command.port)
    uvicorn.run(create_app(model, server_config), host=command.host, port=command.port, log_level=command.log_level)


if __name__ == "__main__":
    sys.exit(main())
