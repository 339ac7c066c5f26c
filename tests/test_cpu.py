"""cpu.py: TensorFlow's CPU settings are in place before TensorFlow loads, and a user's win."""

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent


def environment_after_import(module, **overrides):
    env = {k: v for k, v in os.environ.items() if k not in ("TF_ENABLE_ONEDNN_OPTS",)}
    env.update(overrides)
    code = (f"import {module}, os, sys; "
            "assert 'tensorflow' in sys.modules or '{module}' == 'cpu'; "
            "print(os.environ['TF_ENABLE_ONEDNN_OPTS'])")
    result = subprocess.run([sys.executable, "-c", code], cwd=HERE, env=env,
                            capture_output=True, text=True, check=True)
    return result.stdout.strip()


def test_training_entry_point_turns_onednn_on_by_default():
    assert environment_after_import("train") == "1"


def test_a_users_own_onednn_setting_is_kept():
    assert environment_after_import("models", TF_ENABLE_ONEDNN_OPTS="0") == "0"
