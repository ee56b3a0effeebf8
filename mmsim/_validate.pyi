"""Type stubs for the row checks of TAQ columns (``mmsim/_validate.pyx``)."""
import numpy as np
import numpy.typing as npt

BLOCK_ROWS: int

def first_bad_row(price: npt.NDArray[np.float64], amount: npt.NDArray[np.float64],
                  bid_price: npt.NDArray[np.float64], bid_amount: npt.NDArray[np.float64],
                  ask_price: npt.NDArray[np.float64], ask_amount: npt.NDArray[np.float64],
                  tick_size: float = ...) -> int: ...
def first_unfit_price(price: npt.NDArray[np.float64], bid_price: npt.NDArray[np.float64],
                      ask_price: npt.NDArray[np.float64], tick_size: float) -> int: ...
def first_off_grid(column: npt.NDArray[np.float64], tick_size: float) -> int: ...
def first_descent(times: npt.NDArray[np.int64]) -> int: ...
