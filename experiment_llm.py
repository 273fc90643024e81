#!/usr/bin/env python
"""SEAM memory experiments on a language model with trained memory layers.

    python experiment_llm.py --simple          # introduce Alice -> clear the context -> "What is my name?"
    python experiment_llm.py                   # Alice reinforced in 3 conversations, corrected to Sarah, decay, ask
    python experiment_llm.py -i --user me      # chat with memory (saved to ./memory/me.safetensors on exit)
    python experiment_llm.py --checkpoint 'runs/smollm2/checkpoints/best_step*.safetensors'

Default checkpoint: the shipped one for --model (seam/pretrained/<model>.safetensors). The logic lives in
seam/experiments/llm.py (the chat in seam/experiments/chat.py).
"""

from seam.experiments.llm import main

if __name__ == "__main__":
    main()
