"""Market-making strategies as :class:`mmsim.Strategy` classes.

- :class:`AvellanedaStoikov`: the research notebook's inventory strategy (Avellaneda &
  Stoikov 2008) with its sizing and cancel/replace rule, plus the paper's finite horizon.
- :class:`Symmetric`: the paper's benchmark, the same spread without inventory skew.
- :class:`GLFT`: Guéant-Lehalle-Fernandez-Tapia closed-form quotes with inventory limits.
- :class:`MonteCarlo`: the notebook's random-target-inventory baseline with a stop-loss.
"""
from mmsim.strategies.avellaneda_stoikov import AvellanedaStoikov
from mmsim.strategies.glft import GLFT
from mmsim.strategies.monte_carlo import MonteCarlo
from mmsim.strategies.symmetric import Symmetric

__all__ = ["AvellanedaStoikov", "GLFT", "MonteCarlo", "Symmetric"]
