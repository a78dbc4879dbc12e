"""What keeps a symbol from new pairs at a given moment, for the evaluator's batch and for the fast
replay's deliveries (a crossing quote on a closed symbol wakes no batch: the batch would only
have dropped its mark)."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..arrays import I64, Mask
from ..compiled import jitable


class Gates(NamedTuple):
    """What keeps symbols from new pairs: a symbol may trade now when none of the masks is set
    and it has fewer live pairs than its cap (the arrays are the owners' own, read per batch)."""

    muted: Mask               # under a VI, or muted with a reason (SessionGuard)
    operator_muted: Mask      # the operator's mute (SessionGuard)
    frozen: Mask              # the broker's position is not settled (BrokerTruth)
    live: I64                 # live pairs (Execution)
    max_live: I64             # the cap of live pairs

    @classmethod
    def all_open(cls, n: int) -> "Gates":
        closed = np.zeros(n, dtype=bool)
        return cls(closed, closed, closed, np.zeros(n, dtype=np.int64), np.ones(n, dtype=np.int64))

    def eligible(self) -> Mask:
        mask: Mask = ~(self.muted | self.operator_muted | self.frozen) & (self.live < self.max_live)
        return mask


@jitable
def closed(s: int, now: int, muted: Mask, operator_muted: Mask, frozen: Mask, live: I64, max_live: I64,
           next_eligible: I64) -> bool:
    """Symbol ``s`` may not start a pair at ``now``: one of the gates, or a miss's cooldown."""
    return bool(muted[s] or operator_muted[s] or frozen[s] or live[s] >= max_live[s] or next_eligible[s] > now)
