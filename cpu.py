"""TensorFlow's CPU settings, applied by importing this module before TensorFlow.

TensorFlow reads these environment variables once, when it is first imported, so
every module of this project that imports keras or tensorflow imports this one
first (`import cpu  # noqa: F401`). A value the user has set already is kept.

- TF_ENABLE_ONEDNN_OPTS=1: TensorFlow's x86 wheels run convolutions through oneDNN
  by default only on CPUs with AVX512_VNNI, bfloat16 or AMX; on the AVX2-only CPUs
  of most laptops and cloud machines they fall back to Eigen, which trains the seed
  graphs 1.5 to 2.6 times slower (bench.py measures both).
- TF_CPP_MIN_LOG_LEVEL=2: fewer C++ info/warning lines on every start (TensorFlow 2.21 still
  prints its oneDNN notice, logged before the level applies).

It also says what the CPU is, for every figure that names the machine it ran on (reading
/proc/cpuinfo, without TensorFlow). bfloat16_kernels() says whether these settings leave
TensorFlow fast bfloat16 kernels: oneDNN off means emulated bfloat16, and oneDNN held to an
older instruction set
(ONEDNN_MAX_CPU_ISA=AVX2, the way to imitate an AVX2-only CPU on a newer one) cannot
build a bfloat16 matmul at all.
"""

import os
import sys
import warnings

DEFAULTS = {"TF_ENABLE_ONEDNN_OPTS": "1", "TF_CPP_MIN_LOG_LEVEL": "2"}
REPORTED_FLAGS = ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile",
                  "amx_bf16", "amx_int8")
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


def cpuinfo_field(prefix):
    """The value of the first /proc/cpuinfo line that starts with prefix, or None."""
    try:
        with open("/proc/cpuinfo") as f:
            return next((line.split(":", 1)[1].strip() for line in f
                         if line.startswith(prefix)), None)
    except OSError:
        return None


def flags():
    return set((cpuinfo_field("flags") or "").split())


def description():
    """(the CPU's model name, the flags of REPORTED_FLAGS it has): what decides the kernels."""
    present = flags()
    return (cpuinfo_field("model name") or "unknown CPU",
            [flag for flag in REPORTED_FLAGS if flag in present])


def widest_instructions(present):
    """The label of the widest instruction set among the CPU flags `present`: "AMX",
    "AVX-512 BF16", "AVX-512", "AVX2" or "no AVX2"."""
    return next((label for flag, label in (("amx_tile", "AMX"), ("avx512_bf16", "AVX-512 BF16"),
                                           ("avx512f", "AVX-512"), ("avx2", "AVX2"))
                 if flag in present), "no AVX2")


def kind():
    """A short name of the CPU and its widest instruction set, as the README's timings name it:
    "AMD EPYC, AVX-512 BF16"; "held to AVX2" where ONEDNN_MAX_CPU_ISA imitates an older CPU."""
    name, present = description()
    widest = widest_instructions(present)
    cap = os.environ.get("ONEDNN_MAX_CPU_ISA")
    return f"{name}, {widest}" + (f", held to {cap.upper()}" if cap else "")
