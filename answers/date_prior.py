"""How likely an article is to be the one a question is about, given when it was published: the date prior that
retrieval adds to relevance (both in log-odds, see answers.retrieve).

News has two time scales: this week's story, and the running story it belongs to. The prior mixes a short and a
long half-life, and never falls below a floor, so that an old article that clearly answers still wins. Its
centre is a period: for questions without time words, the clock's day (or, without a clock, the newest
candidate's: an absolute decay against today would flatten a corpus that is years old); for a named month, day
or year ("inflation in October", "the 1953 treaty"), that period, whose coverage is published in it and after.
The shape was fitted by maximum likelihood on RealTime QA's dev questions (`scripts/fit_ranking.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np


@dataclass(frozen=True)
class Decay:
    """The prior at `d` days from the centre: short_weight × 0.5^(d / short_days) + (1 − short_weight) ×
    (floor + (1 − floor) × 0.5^(d / long_days))."""

    short_days: float
    long_days: float
    short_weight: float
    floor: float

    def log_factor(self, days: np.ndarray) -> np.ndarray:
        short = 0.5 ** (days / self.short_days)
        long = self.floor + (1 - self.floor) * 0.5 ** (days / self.long_days)
        return np.log(self.short_weight * short + (1 - self.short_weight) * long)


NEWS_DECAY = Decay(short_days=2.0, long_days=30.0, short_weight=0.75, floor=0.02)


@dataclass(frozen=True)
class DatePrior:
    """Articles published from `start` to `end` are at the centre, and the prior decays with the days before
    `start` or after `end`. `end` None: the newest candidate's day; `start` None: the same day as `end`."""

    start: date | None = None
    end: date | None = None
    decay: Decay = NEWS_DECAY

    def log_factors(self, days: np.ndarray) -> np.ndarray:
        """The log prior of articles published on `days` (day numbers, date.toordinal(); 0: unknown, at the centre)."""
        known = days > 0
        end = self.end.toordinal() if self.end else (int(days[known].max()) if known.any() else 0)
        start = self.start.toordinal() if self.start else end
        distance = np.maximum(start - days, 0) + np.maximum(days - end, 0)
        return self.decay.log_factor(np.where(known, distance, 0).astype(np.float64))
