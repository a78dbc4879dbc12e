"""The array types the books, kernels and replays share: columns of int64 (prices, sizes, times,
indices), float64 parameters, boolean masks and small flag sets (uint8)."""
from __future__ import annotations

from typing import TypeAlias

import numpy as np
from numpy.typing import NDArray

I64: TypeAlias = NDArray[np.int64]
F64: TypeAlias = NDArray[np.float64]
Mask: TypeAlias = NDArray[np.bool_]
U8: TypeAlias = NDArray[np.uint8]
