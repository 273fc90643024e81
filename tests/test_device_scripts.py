"""The scripts that train on a lent GPU (scripts/device): what they bring back and what they build."""

from __future__ import annotations

import json

import torch
from conftest import load_script, tiny_config
from safetensors import safe_open
from safetensors.torch import save_file
from transformers import AutoModelForCausalLM


def _script(name: str):
    return load_script(f"scripts/device/{name}.py")


def test_to_fp16_brings_back_best_final_and_the_latest_periodic_checkpoints_in_fp16_with_their_metadata(tmp_path):
    ck, out = tmp_path / "ck", tmp_path / "out"
    ck.mkdir(), out.mkdir()
    weights = torch.randn(4, 3)
    for name in ("best_step5", "final_step9", "checkpoint_step2", "checkpoint_step4", "checkpoint_step6", "checkpoint_step8",
                 "checkpoint_step9"):
        save_file({"w": weights, "steps": torch.arange(3)}, str(ck / f"{name}.safetensors"), metadata={"step": name})
    _script("to_fp16").main(str(ck), str(out), "2")

    assert sorted(p.name for p in out.iterdir()) == sorted(
        f"{n}.safetensors" for n in ("best_step5", "final_step9", "checkpoint_step6", "checkpoint_step8"))
    with safe_open(str(out / "checkpoint_step8.safetensors"), "pt") as f:
        assert f.metadata() == {"step": "checkpoint_step8"}
        assert f.get_tensor("w").dtype == torch.float16 and f.get_tensor("steps").dtype == torch.int64
        torch.testing.assert_close(f.get_tensor("w").float(), weights, rtol=1e-3, atol=1e-3)


def test_random_base_has_the_source_architecture_and_tokenizer_files_but_new_weights(tmp_path):
    src, out = tmp_path / "src", tmp_path / "rand"
    torch.manual_seed(3)
    real = AutoModelForCausalLM.from_config(tiny_config("llama", 64))
    real.save_pretrained(src)
    (src / "tokenizer.json").write_text(json.dumps({"stand-in": True}))
    _script("random_base").main(str(src), str(out))

    built = AutoModelForCausalLM.from_pretrained(out)
    assert built.config.to_dict()["hidden_size"] == real.config.hidden_size
    assert built.config.num_hidden_layers == real.config.num_hidden_layers
    assert (out / "tokenizer.json").read_text() == (src / "tokenizer.json").read_text()
    assert not torch.equal(built.model.layers[0].mlp.up_proj.weight, real.model.layers[0].mlp.up_proj.weight)
