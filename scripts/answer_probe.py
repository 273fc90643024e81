"""Where a recalled answer breaks: the probability of each token of an expected reply, teacher-forced after a
context clear, with the told user's memory and with a stranger's (empty) memory.

    python scripts/answer_probe.py --model gemma3-270m --statement "I turned 61 this year." \\
        --question "How old did I say I am?" --answer "You are 61 years old."

Each statement is written with `remember` to the user "told" (one message each, in order); the question is then
asked in a new conversation and the answer's tokens scored one by one. A markdown table goes to stdout: token,
p(told), p(stranger), and the told memory's most likely token in its place. Nothing is generated or saved.
"""

from __future__ import annotations

import argparse
import sys

from seam.evaluation.memory_bench import answer_token_probabilities
from seam.lm import ExperimentConfig, load_trained_model, resolve_checkpoint


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="smollm2-135m", help="base model")
    p.add_argument("--checkpoint", help="a trained SEAM checkpoint (default: the model's shipped one)")
    p.add_argument("--statement", action="append", required=True, help="a message the user tells (repeatable, in order)")
    p.add_argument("--question", required=True)
    p.add_argument("--answer", required=True, help="the expected reply, scored token by token")
    args = p.parse_args(argv)
    try:
        model, _ = load_trained_model(ExperimentConfig(model_name=args.model), resolve_checkpoint(args.checkpoint, args.model))
        for text in args.statement:
            model.remember(text, user="told")
    except (ValueError, FileNotFoundError) as err:
        p.error(str(err))
    rows = answer_token_probabilities(model, args.question, args.answer, ["told", "stranger"])
    print(f"{args.model}: told {args.statement!r}, asked {args.question!r}\n")
    print("| token | p, told | p, stranger | told's top token |\n|---|---|---|---|")
    for r in rows:
        print(f"| {r['token']!r} | {r['told']:.3f} | {r['stranger']:.3f} | {r['told_top']!r} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
