"""Analytic predictions for the evolution model (derived in docs/simulations.md)."""

from __future__ import annotations


def optimal_expression_rate(
    mutation_rate: float,
    test_rate: float,
    *,
    advantage: float = 1.0,
    level: float = 1.0,
    cue: float = 0.0,
) -> float:
    """Expression probability that maximises a lineage's growth under R4.

    A lineage with advantage level ``a`` that expresses with probability ``q`` grows by the
    factor ``(1 + s a q) (1 - mu tau (1 - c) q)`` per generation: replication in the real
    environment, times the share of offspring not killed by a test (a mutant, tested with
    probability ``tau``, is caught when it expresses on an input it does not recognise). The
    maximum is at ``q* = 1 / (2 mu tau (1 - c)) - 1 / (2 s a)``, clipped to [0, 1]. The
    gate's chance suppression of random inputs (``2**-input_bits``) is neglected.

    Args:
        mutation_rate: Probability ``mu`` that an offspring is a mutant.
        test_rate: Probability ``tau`` that a mutant is tested.
        advantage: Largest replication advantage ``s``.
        level: Advantage gene ``a`` of the lineage (1 at the optimum of ``a``).
        cue: Probability ``c`` that a test input is the recognisable fixed pattern; the
            lineage is assumed to recognise it (gate on, pattern matched).

    Returns:
        The optimal expression probability.
    """
    cost = mutation_rate * test_rate * (1.0 - cue)
    benefit = advantage * level
    if benefit <= 0.0:
        return 0.0
    if cost <= 0.0:
        return 1.0
    q = 1.0 / (2.0 * cost) - 1.0 / (2.0 * benefit)
    return min(1.0, max(0.0, q))


def predicted_deception_index(
    mutation_rate: float, test_rate: float, *, advantage: float = 1.0, cue: float = 0.0
) -> float:
    """Deception index of an R4 population at the optimum, without mutation load.

    The optimal lineage has ``a = 1``, recognises the fixed test input and expresses with
    probability ``q*`` (:func:`optimal_expression_rate` at this cue). It expresses the
    advantage ``q*`` in the real environment and ``(1 - c) q*`` in the test, so the
    deception index is ``c q*``.

    Args:
        mutation_rate: Probability that an offspring is a mutant.
        test_rate: Probability that a mutant is tested.
        advantage: Largest replication advantage.
        cue: Probability that a test input is the recognisable fixed pattern.

    Returns:
        The predicted deception index (in units of the largest advantage).
    """
    q = optimal_expression_rate(mutation_rate, test_rate, advantage=advantage, cue=cue)
    return cue * q
