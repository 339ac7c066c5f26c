"""TensorFlow's CPU settings, applied by importing this module before TensorFlow.

TensorFlow reads these environment variables once, when it is first imported, so
every module of this project that imports keras or tensorflow imports this one
first (`import cpu  # noqa: F401`). A value the user has set already is kept.

- TF_ENABLE_ONEDNN_OPTS=1: TensorFlow's x86 wheels run convolutions through oneDNN
  by default only on CPUs with AVX512_VNNI, bfloat16 or AMX; on the AVX2-only CPUs
  of most laptops and cloud machines they fall back to Eigen, which trains the seed
  graphs 1.5 to 2.6 times slower (bench.py measures both).
- TF_CPP_MIN_LOG_LEVEL=2: no C++ info/warning lines on every start.
"""

import os
import sys
import warnings

DEFAULTS = {"TF_ENABLE_ONEDNN_OPTS": "1", "TF_CPP_MIN_LOG_LEVEL": "2"}

if "tensorflow" in sys.modules and any(name not in os.environ for name in DEFAULTS):
    warnings.warn("cpu.py was imported after TensorFlow: its settings take effect only in "
                  "new processes", stacklevel=2)
for _name, _value in DEFAULTS.items():
    os.environ.setdefault(_name, _value)
