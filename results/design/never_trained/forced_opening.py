"""Is a never-trained kind refused because the reply's first word is wrong, or because memory cannot copy the value?

On the test split the shipped SmolLM2 file answers "You haven't told me your language." to every told language and
birthday. For each item of the benchmark's "kinds never trained" row (read from a results JSON `eval.py` wrote, so
the items are the test split's own), this writes the user's statements to memory, asks the question in a new
conversation and, teacher-forced:
- the opening: p("Your ...", the answer's first token) against p("You ...", the refusal's), told memory;
- the copy: with the answer's opening forced ("Your first language is"), is every token of the value the greedy
  choice (what greedy decoding would write after that opening), with the told memory and with a stranger's.

    .venv/bin/python results/design/never_trained/forced_opening.py \\
        results/design/phrasings_and_unlikelihood/test_split/memory_eval_results_20261206_142619.json \\
        > results/design/never_trained/forced_opening.md
"""

from __future__ import annotations

import argparse
import json
import logging
from collections import defaultdict
from pathlib import Path

import torch

from seam.evaluation.memory_bench import teacher_forced
from seam.lm import ExperimentConfig, load_trained_model, resolve_checkpoint

OPENINGS = {"language": "Your first language is", "birthday": "Your birthday is", "sport": "Your favourite sport is"}
REFUSAL = "You haven't told me"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("results", type=Path, help="an eval.py results JSON of the memory suite (its never-trained items are used)")
    p.add_argument("--model", default="smollm2-135m")
    p.add_argument("--checkpoint", default=None, help="default: the shipped checkpoint of --model")
    p.add_argument("--read-off", default="", help="comma-separated memory layers whose read is switched off (gate 0) while the "
                   "question is answered (the statements are written as usual): which layer's read makes the refusal")
    args = p.parse_args()
    logging.basicConfig(level=logging.WARNING)
    results = json.loads(args.results.read_text())
    ran = results.get("model", {}).get("base_model")
    if ran != args.model:
        raise SystemExit(f"{args.results} is a run of {ran}, not {args.model}: its replies (the 'answered' column) are that model's; "
                         "give a results JSON of the same model (eval.py --model).")
    records = results["records"]["seam"]["fact: kinds never trained"]
    model, _ = load_trained_model(ExperimentConfig(model_name=args.model), resolve_checkpoint(args.checkpoint, args.model))
    tok = model.tokenizer
    refusal_first = tok(REFUSAL, add_special_tokens=False)["input_ids"][0]
    off = [model.memory_layers[v] for v in args.read_off.split(",") if v]
    gates = [layer.gate.detach().clone() for layer in off]
    stats: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    examples = []
    for i, r in enumerate(records):
        kind, user = r["meta"]["kind"], f"told-{i}"
        for text in r["past"]:
            model.remember(text, user=user)
        opening = tok(OPENINGS[kind], add_special_tokens=False)["input_ids"]
        full = tok(f"{OPENINGS[kind]} {r['expected']}.", add_special_tokens=False)["input_ids"]
        if full[: len(opening)] != opening:
            raise RuntimeError(f"the opening {OPENINGS[kind]!r} tokenises differently before {r['expected']!r}")
        value = full[len(opening) : -1]
        s = stats[kind]
        with torch.no_grad():
            for layer in off:
                layer.gate.zero_()
        s["hit_in_benchmark"].append(bool(r["hit"]))
        for who in (user, None):
            logits, _, positions = teacher_forced(model, r["question"], full, who)
            if who:  # the reply's first word, with the told memory
                first = logits[0, positions[0]].float().softmax(-1)
                s["p_answer_opening"].append(float(first[opening[0]]))
                s["p_refusal_opening"].append(float(first[refusal_first]))
            at = positions[len(opening) : len(opening) + len(value)]
            exact = bool((logits[0, at].argmax(-1) == torch.tensor(value)).all())
            s["copy_told" if who else "copy_stranger"].append(exact)
            if who and len(examples) < 9 and i % 7 == 0:
                greedy = tok.decode(logits[0, at].argmax(-1).tolist())
                examples.append(f"- {kind}: {' / '.join(r['past'])} -> {r['question']} -> forced {OPENINGS[kind]!r}, greedy value "
                                f"{greedy!r} (expected {r['expected']!r}; the benchmark's reply: {r['reply']!r})")
        with torch.no_grad():
            for layer, gate in zip(off, gates):
                layer.gate.copy_(gate)
        model.users.drop([user])
    mean = lambda xs: sum(xs) / len(xs)  # noqa: E731
    shown = Path(resolve_checkpoint(args.checkpoint, args.model)).resolve()
    shown = shown.relative_to(Path.cwd().resolve()) if shown.is_relative_to(Path.cwd().resolve()) else shown
    lines = [f"`{args.results}`: the \"kinds never trained\" items of the test split, {args.model}, "
             f"`{shown}`; teacher-forced after a context clear"
             + (f"; the read of layer(s) {args.read_off} switched off while answering" if off else "") + ".", "",
             "| kind | n | answered in the benchmark | p(answer's first token) / p(refusal's), told memory "
             "| value copied exactly after the forced opening: told memory / stranger's |",
             "|---|---|---|---|---|"]
    for kind, s in stats.items():
        lines.append(f"| {kind} | {len(s['hit_in_benchmark'])} | {sum(s['hit_in_benchmark'])} | {mean(s['p_answer_opening']):.2f} / "
                     f"{mean(s['p_refusal_opening']):.2f} | {sum(s['copy_told'])} / {sum(s['copy_stranger'])} |")
    lines += ["", "Examples:", "", *examples]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
