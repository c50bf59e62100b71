from __future__ import annotations

import ulterior.sims as sims


def test_public_names_are_pinned() -> None:
    assert sorted(sims.__all__) == sorted(
        [
            "EVOLUTION_METRICS",
            "GRADIENT_METRICS",
            "EvolutionConfig",
            "GradientConfig",
            "OutputOptions",
            "Regime",
            "Schedule",
            "SimulationResult",
            "SweepConfig",
            "SweepResult",
            "build_schedule",
            "load_json",
            "optimal_expression_rate",
            "predicted_deception_index",
            "run_simulations",
            "run_sweep",
            "save_simulation",
            "simulate",
            "simulate_evolution",
            "simulate_gradient",
            "summarize",
            "sweep",
        ]
    )
    for name in sims.__all__:
        if not name.isupper():  # constants are tuples of metric names
            assert getattr(sims, name).__module__.startswith("ulterior.sims")


def test_importing_sims_does_not_import_matplotlib() -> None:
    import subprocess
    import sys

    code = "import sys, ulterior.sims; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
