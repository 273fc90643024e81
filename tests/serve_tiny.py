"""A SEAM server around the tests' tiny Llama (conftest's builders), as its own process: for the fault test.

    python tests/serve_tiny.py --memory-dir DIR --port-file FILE [--api-key KEY]

Listens on a free port of 127.0.0.1 and writes the port to FILE once it accepts connections. Every run
builds the same seeded model, so a restarted server is the same model over the same memory files.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from conftest import CHATML_TEMPLATE, build_seam, build_tiny_model, build_tokenizer_backend, open_gates, wrap_tokenizer  # noqa: E402

from seam.serve import ServerConfig, ThreadedServer, create_app  # noqa: E402


def tiny_model(memory_dir: str | None):
    """The seeded tiny Llama with open gates (memory reads matter) over `memory_dir`."""
    tokenizer = wrap_tokenizer(build_tokenizer_backend(), CHATML_TEMPLATE)
    model = build_seam(build_tiny_model("llama", len(tokenizer)), tokenizer, memory_dir=memory_dir)
    open_gates(model)
    return model


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--memory-dir", required=True)
    p.add_argument("--port-file", required=True)
    p.add_argument("--api-key", default=None)
    args = p.parse_args()
    torch.set_num_threads(1)
    server = ThreadedServer(create_app(tiny_model(args.memory_dir), ServerConfig(api_key=args.api_key, default_max_tokens=8)))
    server.start()
    Path(args.port_file + ".tmp").write_text(str(server.port))
    Path(args.port_file + ".tmp").rename(args.port_file)
    server.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
