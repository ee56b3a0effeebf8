"""Build the compiled engine; every Cython directive is set here, once.

``MMSIM_DEBUG=1 pip install .`` builds a checking engine: bounds, wraparound and
initialisation checks on, no optimisation, and ``mmsim._core.BUILD == "debug"`` (and
``mmsim.latency.BUILD``).
"""
import os

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup

DEBUG = os.environ.get("MMSIM_DEBUG", "") not in ("", "0")

DIRECTIVES = {
    "language_level": 3,
    "boundscheck": DEBUG,
    "wraparound": DEBUG,
    "cdivision": True,
    "initializedcheck": DEBUG,
    "nonecheck": False,
    "embedsignature": True,
}

COMPILE_ARGS = ["-O0", "-g"] if DEBUG else ["-O3"]
MACROS = [("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION"),
          ("MMSIM_DEBUG", "1" if DEBUG else "0")]

extensions = [
    Extension(
        "mmsim._core",
        ["mmsim/_core.pyx"],
        include_dirs=[np.get_include()],
        define_macros=MACROS,
        extra_compile_args=COMPILE_ARGS,
    ),
    # Latency draws must be the same bit for bit on every CPU: no fused multiply-add, which
    # rounds a * b + c once instead of twice (compilers fuse by default where the CPU has it).
    Extension(
        "mmsim.latency",
        ["mmsim/latency.pyx"],
        include_dirs=[np.get_include()],
        define_macros=MACROS,
        extra_compile_args=COMPILE_ARGS + ["-ffp-contract=off"],
    ),
]

# force: a debug and a release build differ only in directives, which Cython's timestamp
# check does not see.
setup(ext_modules=cythonize(extensions, compiler_directives=DIRECTIVES, force=True))
