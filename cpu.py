"""TensorFlow's CPU settings, applied by importing this module before TensorFlow.

TensorFlow reads these environment variables once, when it is first imported, so
every module of this project that imports keras or tensorflow imports this one
first (`import cpu  # noqa: F401`). A value the user has set already is kept.

- TF_ENABLE_ONEDNN_OPTS=1: TensorFlow's x86 wheels run convolutions through oneDNN
  by default only on CPUs with AVX512_VNNI, bfloat16 or AMX; on the AVX2-only CPUs
  of most laptops and cloud machines they fall back to Eigen, which trains the seed
  graphs 1.5 to 2.6 times slower (bench.py measures both).
- TF_CPP_MIN_LOG_LEVEL=2: no C++ info/warning lines on every start.

bfloat16_kernels() says whether these settings leave TensorFlow fast bfloat16 kernels:
oneDNN off means emulated bfloat16, and oneDNN held to an older instruction set
(ONEDNN_MAX_CPU_ISA=AVX2, the way to imitate an AVX2-only CPU on a newer one) cannot
build a bfloat16 matmul at all.
"""

import os
import sys
import warnings

DEFAULTS = {"TF_ENABLE_ONEDNN_OPTS": "1", "TF_CPP_MIN_LOG_LEVEL": "2"}
# oneDNN's instruction-set caps below AVX512_CORE_BF16, the first with bfloat16 dot products.
ISAS_WITHOUT_BF16 = {"SSE41", "AVX", "AVX2", "AVX2_VNNI", "AVX2_VNNI_2", "AVX512_CORE",
                     "AVX512_CORE_VNNI"}

if "tensorflow" in sys.modules and any(name not in os.environ for name in DEFAULTS):
    warnings.warn("cpu.py was imported after TensorFlow: its settings take effect only in "
                  "new processes", stacklevel=2)
for _name, _value in DEFAULTS.items():
    os.environ.setdefault(_name, _value)


def bfloat16_kernels():
    """False where oneDNN is off or held below bfloat16 by ONEDNN_MAX_CPU_ISA (the CPU's own
    flags are the caller's to check)."""
    if os.environ.get("TF_ENABLE_ONEDNN_OPTS", "1").strip().lower() in ("0", "false", "off"):
        return False
    return os.environ.get("ONEDNN_MAX_CPU_ISA", "ALL").strip().upper() not in ISAS_WITHOUT_BF16
