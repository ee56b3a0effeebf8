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

def extension(name: str) -> Extension:
    """One compiled module of the package, built with the shared directives.

    Every module is compiled without fused multiply-add (``-ffp-contract=off``), which
    rounds a * b + c once instead of twice where the CPU has it: results, and latency draws
    in particular, are then the same bit for bit on every CPU (DESIGN rule 11).
    """
    return Extension(
        f"mmsim.{name}",
        [f"mmsim/{name}.pyx"],
        include_dirs=[np.get_include()],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION"),
                       ("MMSIM_DEBUG", "1" if DEBUG else "0")],
        extra_compile_args=(["-O0", "-g"] if DEBUG else ["-O3"]) + ["-ffp-contract=off"],
    )


# queue and latency: the swappable parts, cimported by the core (and by custom models);
# _validate: the row checks of TAQ columns before a replay.
extensions = [extension("queue"), extension("latency"), extension("_core"),
              extension("_validate")]

# force: a debug and a release build differ only in directives, which Cython's timestamp
# check does not see.
setup(ext_modules=cythonize(extensions, compiler_directives=DIRECTIVES, force=True))
