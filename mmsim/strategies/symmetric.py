r"""The symmetric benchmark of Avellaneda & Stoikov (2008): the same spread, no inventory skew."""
from __future__ import annotations

from mmsim.strategies.avellaneda_stoikov import AvellanedaStoikov

__all__ = ["Symmetric"]


class Symmetric(AvellanedaStoikov):
    r"""Quote the Avellaneda-Stoikov spread centred on the reference price, full size both sides.

    The paper's benchmark: bid and ask at

    .. math::

        s \mp \tfrac12\left[\gamma\sigma^2\tau + \tfrac{2}{\gamma}\ln\!\left(1 + \tfrac{\gamma}{k}\right)\right]

    rounded to the nearest tick and capped at the touch, each of size ``max_size`` units
    (:math:`\lfloor N/u \rfloor` contracts for NAV :math:`N` and unit value :math:`u`),
    whatever the inventory. It is :class:`AvellanedaStoikov` evaluated at :math:`q = 0`,
    with the same options and the same keep-order rule.

    Parameters
    ----------
    max_size, gamma, k, delta_price, delta_size, sigma, reference, horizon
        As for :class:`AvellanedaStoikov`.
    """

    def __init__(self, max_size, gamma, k, delta_price=0.0, delta_size=0.0, *,
                 sigma="sigma", reference="last", horizon=None):
        super().__init__(max_size, gamma, k, 0.0, delta_price, delta_size,
                         sigma=sigma, reference=reference, horizon=horizon)

    def inventory(self, position: float, nav: float, unit: float = 1.0) -> float:
        """Always 0: the symmetric strategy ignores its inventory."""
        return 0.0
