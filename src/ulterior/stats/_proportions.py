from __future__ import annotations


def proportion_ci(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a proportion; ``(0.0, 1.0)`` when ``n`` is 0.

    Wilson rather than the normal approximation because rates here are often 0 or 1 with
    small ``n`` (a detector that flags 3 of 3 organisms), where the normal interval collapses
    to a point.
    """
    if n == 0:
        return 0.0, 1.0
    from scipy.stats import binomtest

    interval = binomtest(successes, n).proportion_ci(confidence_level=confidence,
                                                     method="wilson")
    return float(interval.low), float(interval.high)
