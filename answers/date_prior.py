"""How likely an article is to be the one a question is about, given when it was published: the date prior that
retrieval adds to relevance (both in log-odds, see answers.retrieve).

The prior halves every `half_life_days` away from its centre and never falls below `floor`, so that age costs
at most −log(floor) in log-odds and an old article that clearly answers still wins. Its centre is a period: for
questions without time words, the clock's day (or, without a clock, the newest candidate's: an absolute decay
against today would flatten a corpus that is years old); for a named month, day or year ("inflation in
October", "the 1953 treaty"), that period, whose coverage is published in it and after.

The half-life was fitted by maximum likelihood on RealTime QA's dev questions, asked on their dates and 30 and
90 days later (`scripts/fit_ranking.py`); the floor is set, not fitted (those questions are never about old
news, so the data would take it to 0).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np


@dataclass(frozen=True)
class Decay:
    """The prior at `d` days from the centre: floor + (1 − floor) × 0.5^(d / half_life_days)."""

    half_life_days: float
    floor: float

    def log_factor(self, days: np.ndarray) -> np.ndarray:
        return np.log(self.floor + (1 - self.floor) * 0.5 ** (days / self.half_life_days))


NEWS_DECAY = Decay(half_life_days=41.6, floor=0.02)


@dataclass(frozen=True)
class DatePrior:
    """Articles published from `start` to `end` are at the centre, and the prior decays with the days before
    `start` or after `end`. `end` None: the newest candidate's day; `start` None: the same day as `end`."""

    start: date | None = None
    end: date | None = None
    decay: Decay = NEWS_DECAY

    def log_factors(self, days: np.ndarray) -> np.ndarray:
        """The log prior of articles published on `days` (day numbers, date.toordinal(); 0: unknown, at the centre)."""
        return self.decay.log_factor(self.distances(days))

    def distances(self, days: np.ndarray) -> np.ndarray:
        """Days from the centre to each of `days` (0 within it, and for unknown days)."""
        known = days > 0
        end = self.end.toordinal() if self.end else (int(days[known].max()) if known.any() else 0)
        start = self.start.toordinal() if self.start else end
        distance = np.maximum(start - days, 0) + np.maximum(days - end, 0)
        return np.where(known, distance, 0).astype(np.float64)
