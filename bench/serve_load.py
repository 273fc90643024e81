"""SEAM serving load benchmark: p50/p95 latency and tokens/s of `seam serve` at 1, 4 and 16 concurrent users,
SEAM against the same server with memory off, interleaved in one run.

    python bench/serve_load.py                          # the shipped SmolLM2 checkpoint, about 3-5 minutes on 2 CPU cores
    python bench/serve_load.py --requests-per-user 4 --rounds 3
    python bench/serve_load.py --equal-length           # every reply exactly --max-tokens long: both arms do the same work

Writes bench/results/serve_load.json and serve_load.md, and prints the Markdown tables.
"""

from __future__ import annotations

import argparse
import sys

from seam.cli import add_config_args, config_from_args
from seam.serve.load import ServeLoadConfig, markdown, run

FLAGS = ["model_name", "checkpoint", "concurrency", "requests_per_user", "rounds", "max_tokens", "equal_length", "max_batch", "threads",
         "output_dir"]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_config_args(p, ServeLoadConfig, FLAGS, flags={"model_name": "--model"})
    config = config_from_args(p, ServeLoadConfig, p.parse_args(argv))
    results, paths = run(config)
    print(markdown(results))
    print("\n".join(f"wrote {path}" for path in paths.values()), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
