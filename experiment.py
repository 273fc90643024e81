#!/usr/bin/env python
"""Embedding-only SEAM experiment (no LLM): reinforce a name, correct it once, let time pass, ask for it.

    python experiment.py                      # Alice x5, decay, correction to Sarah, decay, "What is my name?"
    python experiment.py --auto-save          # also keep the memory for a later --load-memory
    python experiment.py -i                   # prompt for the config

The logic lives in seam/experiments/embedding.py.
"""

from seam.experiments.embedding import main

if __name__ == "__main__":
    main()
