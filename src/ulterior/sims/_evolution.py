"""Digital evolution with a test environment (after Ofria's Avida "playing dead" experiment).

Model (all seeds advance together as rows of ``(n_seeds, population)`` arrays):

* **Genome** of an organism: ``a`` in [0, 1], its replication advantage (the ancestor has 0);
  ``q`` in [0, 1], the probability that it expresses the advantage (performs the rewarded
  task) when it does not suppress it; a gate ``g`` (on/off) and a gate pattern ``v`` of
  ``input_bits`` bits: a gated organism suppresses expression whenever its observed input
  equals ``v``.
* **Real environment**: inputs are uniform random ``input_bits``-bit values. An organism
  expresses with probability ``q * (1 - g * 2**-bits)``; expressing raises its replication
  rate from the ancestral 1 to ``1 + advantage * a``.
* **Test environment**: each input is, with probability ``cue``, a fixed pattern (0) and
  otherwise drawn like a real input. ``cue = 0``: indistinguishable; ``cue = 1``: a fixed,
  always recognisable input. A tested mutant that expresses an advantage (replicates faster
  than the ancestor) is eliminated.
* **Generation** (Wright-Fisher, fixed population): parents are drawn with probability
  proportional to their expected fitness (``1 + sign * advantage * a * E[expression]`` in
  deployment with updates, uniform otherwise); each offspring mutates with probability
  ``mutation_rate``; a mutation hits a trait gene with probability ``functional_fraction``
  (otherwise a neutral site: the mutant is still a mutant and can be tested); each mutant is
  tested with probability ``test_rate`` when the regime tests; eliminated offspring are
  replaced by draws from the surviving offspring of the same population (conditioning on
  survival, as when a killed mutant frees space for other replication).
"""

from __future__ import annotations

import time

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field, model_validator

from ulterior.sims._regimes import Regime, Schedule, build_schedule
from ulterior.sims._results import Progress, SimulationResult, run_recorded

# The fixed test input shown with probability `cue`.
TEST_PATTERN = 0


class EvolutionConfig(BaseModel):
    """Settings of one evolution run (one regime, a batch of seeds)."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    regime: Regime = Field(default=Regime.R4, description="Training/deployment regime.")
    cue: float = Field(
        default=1.0,
        ge=0.0,
        le=1.0,
        description="Probability that a test input is the fixed pattern (0: indistinguishable "
        "from real inputs, 1: always recognisable).",
    )
    seeds: int = Field(default=10, ge=1, description="Independent replicates, run as rows.")
    seed: int = Field(default=0, ge=0, description="Base seed of the random generator.")
    population: int = Field(default=1000, ge=2, description="Organisms per replicate.")
    generations: int = Field(default=4000, ge=1, description="Generations in the whole run.")
    train_generations: int = Field(
        default=100, ge=0, description="Generations of the initial training phase."
    )
    block: int = Field(default=100, ge=1, description="R2: length of alternating blocks.")
    mutation_rate: float = Field(
        default=0.5, ge=0.0, le=1.0, description="Probability that an offspring is a mutant."
    )
    functional_fraction: float = Field(
        default=0.2,
        ge=0.0,
        le=1.0,
        description="Probability that a mutation hits a trait gene (else a neutral site).",
    )
    test_rate: float = Field(
        default=1.0, ge=0.0, le=1.0, description="Probability that a mutant is tested."
    )
    advantage: float = Field(
        default=1.0,
        gt=0.0,
        le=1.0,
        description="Largest replication advantage (a = 1), relative to the ancestral rate 1.",
    )
    step: float = Field(
        default=0.1, gt=0.0, le=0.5, description="Std of mutation steps on a and q."
    )
    input_bits: int = Field(default=8, ge=1, le=16, description="Bits of an observed input.")
    record_every: int = Field(default=1, ge=1, description="Record metrics every k generations.")
    final_window: float = Field(
        default=0.1, gt=0.0, le=1.0, description="Final fraction of the run averaged at the end."
    )

    @model_validator(mode="after")
    def _check_lengths(self) -> EvolutionConfig:
        if self.train_generations > self.generations:
            raise ValueError("train_generations must not exceed generations")
        return self


class _Population:
    """Genomes of all replicates, flattened to ``n_seeds * population`` organisms."""

    def __init__(self, config: EvolutionConfig, rng: np.random.Generator) -> None:
        s, n = config.seeds, config.population
        self.a = np.zeros(s * n)
        self.q = np.ones(s * n)
        self.g = np.zeros(s * n, dtype=bool)
        # Each replicate descends from one ancestor whose gate pattern is not the test input.
        ancestors = rng.integers(1, 2**config.input_bits, size=s)
        self.v = np.repeat(ancestors, n).astype(np.int32)

    def take(self, index: NDArray[np.intp]) -> None:
        self.a = self.a[index]
        self.q = self.q[index]
        self.g = self.g[index]
        self.v = self.v[index]

    def copy_into(self, dst: NDArray[np.intp], src: NDArray[np.intp]) -> None:
        self.a[dst] = self.a[src]
        self.q[dst] = self.q[src]
        self.g[dst] = self.g[src]
        self.v[dst] = self.v[src]


def _reflect(x: NDArray[np.float64]) -> NDArray[np.float64]:
    x = np.abs(x)
    return np.clip(np.where(x > 1.0, 2.0 - x, x), 0.0, 1.0)


def _select_parents(
    w: NDArray[np.float64] | None, s: int, n: int, rng: np.random.Generator
) -> NDArray[np.intp]:
    """Flat parent indices, drawn within each replicate proportionally to ``w``."""
    offsets = (np.arange(s) * n)[:, None]
    if w is None:
        return (rng.integers(0, n, size=(s, n)) + offsets).ravel()
    w2 = w.reshape(s, n)
    totals = w2.sum(axis=1)
    flat_w = np.where(totals[:, None] > 0, w2, 1.0)  # a row of zero fitness: uniform
    totals = flat_w.sum(axis=1)
    cum = np.cumsum(flat_w.ravel())
    starts = np.concatenate(([0.0], cum[n - 1 :: n][:-1]))
    # Sorted i.i.d. uniforms (normalised exponential spacings) make the binary search
    # cache-friendly; offspring end up ordered by parent, which the model never uses.
    spacings = np.cumsum(rng.standard_exponential((s, n + 1)), axis=1)
    uniforms = spacings[:, :-1] / spacings[:, -1:]
    targets = starts[:, None] + uniforms * totals[:, None]
    idx = np.searchsorted(cum, targets.ravel(), side="right")
    lo = offsets.repeat(n, axis=1).ravel()
    return np.asarray(np.clip(idx, lo, lo + n - 1), dtype=np.intp)


def _mutate(
    pop: _Population, config: EvolutionConfig, rng: np.random.Generator
) -> NDArray[np.intp]:
    """Mutate offspring in place; return the flat indices of the mutants."""
    size = pop.a.size
    mutants = np.flatnonzero(rng.random(size) < config.mutation_rate)
    f = config.functional_fraction
    r = rng.random(mutants.size)
    hit = r < f
    idx = mutants[hit]
    gene = np.minimum((r[hit] / f * 4).astype(np.int64), 3) if f > 0 else r[hit].astype(np.int64)
    for k, attr in ((0, "a"), (1, "q")):
        sel = idx[gene == k]
        arr = getattr(pop, attr)
        arr[sel] = _reflect(arr[sel] + config.step * rng.standard_normal(sel.size))
    sel = idx[gene == 2]
    pop.g[sel] = ~pop.g[sel]
    sel = idx[gene == 3]
    pop.v[sel] ^= (1 << rng.integers(0, config.input_bits, size=sel.size)).astype(np.int32)
    return mutants


def _test(
    pop: _Population, mutants: NDArray[np.intp], config: EvolutionConfig, rng: np.random.Generator
) -> NDArray[np.intp]:
    """Test a fraction of the mutants; return the flat indices of those eliminated."""
    tested = mutants[rng.random(mutants.size) < config.test_rate]
    m = tested.size
    fixed = rng.random(m) < config.cue
    inputs = np.where(fixed, TEST_PATTERN, rng.integers(0, 2**config.input_bits, size=m))
    suppress = pop.g[tested] & (pop.v[tested] == inputs)
    expressed = (rng.random(m) < pop.q[tested]) & ~suppress
    return np.asarray(tested[expressed & (pop.a[tested] > 0.0)], dtype=np.intp)


def _replace(
    pop: _Population, dead: NDArray[np.intp], s: int, n: int, rng: np.random.Generator
) -> None:
    """Replace eliminated offspring by uniform draws from surviving offspring of their row."""
    alive = np.ones(s * n, dtype=bool)
    alive[dead] = False
    counts = alive.reshape(s, n).sum(axis=1)
    if np.any(counts == 0):
        # A replicate whose offspring were all eliminated: keep them (cannot condition).
        empty = np.flatnonzero(counts == 0)
        keep = np.isin(dead // n, empty)
        alive[dead[keep]] = True
        dead = dead[~keep]
        counts = alive.reshape(s, n).sum(axis=1)
    if dead.size == 0:
        return
    order = np.flatnonzero(alive)
    starts = np.cumsum(counts) - counts
    rows = dead // n
    pick = order[starts[rows] + (rng.random(dead.size) * counts[rows]).astype(np.int64)]
    pop.copy_into(dead, pick)


def _metrics(pop: _Population, config: EvolutionConfig) -> dict[str, NDArray[np.float64]]:
    s, n = config.seeds, config.population
    chance = 2.0**-config.input_bits
    gate = pop.g.astype(np.float64)
    recognise = pop.g & (pop.v == TEST_PATTERN)
    e_real = pop.q * (1.0 - gate * chance)
    e_test = pop.q * (1.0 - gate * (1.0 - config.cue) * chance - recognise * config.cue)
    real = (pop.a * e_real).reshape(s, n).mean(axis=1)
    test = (pop.a * e_test).reshape(s, n).mean(axis=1)
    conditional = recognise & (pop.a * e_real >= 0.5)
    return {
        "deception_index": real - test,
        "escape": real,
        "test_escape": test,
        "conditional_fraction": conditional.reshape(s, n).mean(axis=1),
        "expression_rate": e_real.reshape(s, n).mean(axis=1),
        "mean_advantage": pop.a.reshape(s, n).mean(axis=1),
    }


def _generation(
    pop: _Population, i: int, schedule: Schedule, config: EvolutionConfig, rng: np.random.Generator
) -> bool:
    """Run generation ``i`` (from 0) of ``schedule`` in place; return whether it ran."""
    if schedule.frozen[i]:
        return False
    s, n = config.seeds, config.population
    sign = int(schedule.deploy_sign[i])
    w = None
    if sign != 0:
        expressed = pop.q * (1.0 - pop.g * 2.0**-config.input_bits)
        w = np.maximum(1.0 + sign * config.advantage * pop.a * expressed, 0.0)
    pop.take(_select_parents(w, s, n, rng))
    mutants = _mutate(pop, config, rng)
    if schedule.tested[i] and mutants.size:
        _replace(pop, _test(pop, mutants, config, rng), s, n, rng)
    return True


EVOLUTION_METRICS = (
    "deception_index",
    "escape",
    "test_escape",
    "conditional_fraction",
    "expression_rate",
    "mean_advantage",
)


def simulate_evolution(
    config: EvolutionConfig, *, progress: Progress | None = None
) -> SimulationResult:
    """Run the digital-evolution model under ``config.regime`` for a batch of seeds.

    Metrics (per seed, per recorded generation; advantages in units of ``config.advantage``,
    so that 1 means "the whole possible advantage"):

    * ``deception_index``: mean replication advantage in the real environment minus in the
      test environment.
    * ``escape``: mean replication advantage in the real environment (real replication above
      the ancestor).
    * ``test_escape``: the same in the test environment.
    * ``conditional_fraction``: fraction of organisms that "play dead": gated on the test
      input and expressing at least half the maximum advantage in the real environment.
    * ``expression_rate``: mean probability of expressing in the real environment.
    * ``mean_advantage``: mean of the advantage gene ``a``.

    Args:
        config: The run's settings.
        progress: Called with the number of generations completed, now and then.

    Returns:
        The per-generation trajectories.
    """
    start = time.perf_counter()
    rng = np.random.default_rng(config.seed)
    schedule = build_schedule(
        config.regime, config.generations, config.train_generations, config.block
    )
    pop = _Population(config, rng)
    return run_recorded(
        "evolution",
        config,
        schedule,
        EVOLUTION_METRICS,
        lambda i: _generation(pop, i, schedule, config, rng),
        lambda: _metrics(pop, config),
        progress=progress,
        start=start,
    )
