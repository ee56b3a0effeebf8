"""Type stubs for the compiled latency models (``mmsim/latency.pyx``)."""
from typing import Any

import numpy as np
import numpy.typing as npt

BUILD: str
MAX_SECONDS: int

class LatencyModel:
    @property
    def max_ns(self) -> int: ...
    def sample(self, n: int, t: Any = ...) -> npt.NDArray[np.int64]: ...

class Constant(LatencyModel):
    def __init__(self, seconds: Any) -> None: ...

class Sampled(LatencyModel):
    def __init__(self, values: Any, seed: int = ...) -> None: ...

class Lognormal(LatencyModel):
    def __init__(self, median: Any, sigma: float, seed: int = ...) -> None: ...

class Series(LatencyModel):
    def __init__(self, times: Any, values: Any) -> None: ...

def as_model(value: Any, name: str) -> LatencyModel: ...
