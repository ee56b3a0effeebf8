"""Market-making strategies as :class:`mmsim.Strategy` classes.

- :class:`AvellanedaStoikov`: the research notebook's inventory strategy (Avellaneda &
  Stoikov 2008) with its sizing and cancel/replace rule, plus the paper's finite horizon.
- :class:`Symmetric`: the paper's benchmark, the same spread without inventory skew.
- :class:`GLFT`: Guéant-Lehalle-Fernandez-Tapia closed-form quotes with inventory limits.
- :class:`MonteCarlo`: the notebook's random-target-inventory baseline with a stop-loss.
"""
from mmsim import _lazy
from mmsim.strategies.registry import STRATEGIES

__all__ = list(STRATEGIES)

# The classes of the registry, imported on first use.
__getattr__, __dir__ = _lazy.attach(__name__, STRATEGIES, public=("registry",))
