"""cpu.py: TensorFlow's CPU settings are in place before TensorFlow loads, and a user's win."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent.parent


def environment_after_import(module, **overrides):
    env = {k: v for k, v in os.environ.items() if k not in ("TF_ENABLE_ONEDNN_OPTS",)}
    env.update(overrides)
    code = (f"import {module}, os, sys; "  # TensorFlow reads the setting when it loads: at
            "import tensorflow; "  # the module's import or, for train.py, when a run starts
            "print(os.environ['TF_ENABLE_ONEDNN_OPTS'])")
    result = subprocess.run([sys.executable, "-c", code], cwd=HERE, env=env,
                            capture_output=True, text=True, check=True)
    return result.stdout.strip()


def test_training_entry_point_turns_onednn_on_by_default():
    assert environment_after_import("train") == "1"


def test_a_users_own_onednn_setting_is_kept():
    assert environment_after_import("models", TF_ENABLE_ONEDNN_OPTS="0") == "0"


def test_bfloat16_kernels_need_onednn(monkeypatch):
    import cpu

    monkeypatch.setenv("TF_ENABLE_ONEDNN_OPTS", "0")
    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA", raising=False)
    assert not cpu.bfloat16_kernels()
    monkeypatch.setenv("TF_ENABLE_ONEDNN_OPTS", "1")
    assert cpu.bfloat16_kernels()


def test_onednn_held_to_avx2_has_no_bfloat16_kernels(monkeypatch):
    import cpu

    monkeypatch.setenv("TF_ENABLE_ONEDNN_OPTS", "1")
    for isa, usable in (("avx2", False), ("AVX512_CORE_VNNI", False), ("AVX512_CORE_BF16", True),
                        ("AVX512_CORE_AMX", True), ("ALL", True)):
        monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", isa)
        assert cpu.bfloat16_kernels() is usable, isa


def test_auto_precision_trains_in_float32_when_onednn_is_held_to_avx2():
    """The way to imitate an AVX2-only CPU must not pick a bfloat16 that oneDNN cannot build."""
    env = dict(os.environ, ONEDNN_MAX_CPU_ISA="AVX2")
    code = "import training; print(training.resolve_precision('auto'))"
    result = subprocess.run([sys.executable, "-c", code], cwd=HERE, env=env,
                            capture_output=True, text=True, check=True)
    assert result.stdout.strip().splitlines()[-1] == "float32"


@pytest.mark.parametrize("present, label", [
    ({"avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile", "amx_bf16"}, "AMX"),
    ({"avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16"}, "AVX-512 BF16"),
    ({"avx2", "fma", "avx512f", "avx512_vnni"}, "AVX-512"),
    ({"avx2", "fma"}, "AVX2"),
    ({"sse4_2", "avx", "fma"}, "no AVX2"),
    (set(), "no AVX2"),
])
def test_the_widest_instructions_are_named_from_the_flags(present, label):
    import cpu

    assert cpu.widest_instructions(present) == label


def test_the_cpu_kind_names_its_widest_instructions_and_an_imitation(monkeypatch):
    import cpu

    monkeypatch.setattr(cpu, "description", lambda: ("Some Xeon", ["avx2", "fma", "avx512f"]))
    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA", raising=False)
    assert cpu.kind() == "Some Xeon, AVX-512"
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "avx2")
    assert cpu.kind() == "Some Xeon, AVX-512, held to AVX2"
