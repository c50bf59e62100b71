"""The trajectory figures of docs/training.md, from the designed order experiment's records.

    python benchmarks/plot_designed_order.py

Reads benchmarks/results/curriculum_order/NAME.json (written by curriculum_order.py), places
onsets with the threshold rule and writes docs/img/training-NAME.svg: goal-directedness,
base-goal understanding and situational awareness side by side, as track.html draws them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ulterior.report import trajectory_chart
from ulterior.training import emergence, load_battery, read_track

HERE = Path(__file__).parent
RUNS = ("base-goal-first-s0", "goals-first-s0", "neutral-s1")
SHOWN = ("goal-directedness", "base-goal", "situational-awareness")
WIDTH, HEIGHT = 340, 190  # one chart, as band_chart draws it


def main() -> None:
    battery = load_battery().select("tracked")
    for run in RUNS:
        track = read_track(HERE / "results" / "curriculum_order" / f"{run}.json")
        analysis = emergence(track.steps, np.array(track.scores), battery, method="threshold",
                             rng=np.random.default_rng(0))
        charts = [trajectory_chart(t) for t in analysis.trajectories if t.property in SHOWN]
        # each chart is an <svg> of its own: placed side by side with x, at a fixed size
        body = "".join(
            chart.replace("<svg ", f"<svg x='{WIDTH * k}' width='{WIDTH}' height='{HEIGHT}' ", 1)
            .replace("style='max-width:100%;height:auto'", "")
            for k, chart in enumerate(charts))
        out = HERE.parent / "docs" / "img" / f"training-{run}.svg"
        out.write_text(f"<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 "
                       f"{WIDTH * len(charts)} {HEIGHT}' width='{WIDTH * len(charts)}' "
                       f"height='{HEIGHT}'>{body}</svg>\n")
        print(out)


if __name__ == "__main__":
    main()
