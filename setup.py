"""Build the compiled engine; every Cython directive is set here, once.

``MMSIM_DEBUG=1 pip install .`` builds a checking engine: bounds, wraparound and
initialisation checks on, no optimisation, and ``mmsim._core.BUILD == "debug"``.
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
    """One compiled module of the package, built with the shared directives."""
    return Extension(
        f"mmsim.{name}",
        [f"mmsim/{name}.pyx"],
        include_dirs=[np.get_include()],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION"),
                       ("MMSIM_DEBUG", "1" if DEBUG else "0")],
        extra_compile_args=["-O0", "-g"] if DEBUG else ["-O3"],
    )


# queue: the queue models, cimported by the core and by custom models.
extensions = [extension("queue"), extension("_core")]

# force: a debug and a release build differ only in directives, which Cython's timestamp
# check does not see.
setup(ext_modules=cythonize(extensions, compiler_directives=DIRECTIVES, force=True))
