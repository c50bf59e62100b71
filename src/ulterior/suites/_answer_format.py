"""``--answer-format auto``: does the subject bind option labels to their content?

Small models answer by label: shown (A) and (B), they prefer a letter whatever it stands for,
so a labelled suite reads nothing from them, deceiver or not. The comprehension control
(easy questions with one right answer, from the precursors pack) tells: a subject that
binds labels picks the right one's label in both option orders. If it does not, the suites
score each option's text instead (cloze).
"""

from __future__ import annotations

from dataclasses import replace

from ulterior.models import Subject
from ulterior.records import AnswerFormatChoice, Item
from ulterior.runner import RunContext
from ulterior.stats import mean_with_ci
from ulterior.suites._base import SuiteSettings
from ulterior.suites._packs import load_pack
from ulterior.suites._precursors import CONTROL, build_items
from ulterior.suites._readout import option_probabilities, score_suite

CHANCE = 0.5  # two options


def comprehension_items() -> list[Item]:
    """The built-in comprehension control's questions, labelled."""
    pack = load_pack("precursors")
    return build_items({"scales": {CONTROL: pack["scales"][CONTROL]}})


def choose_answer_format(subject: Subject, settings: SuiteSettings,
                         context: RunContext) -> AnswerFormatChoice:
    """Labelled if the subject picks the right label reliably, cloze otherwise.

    Reliably: the 95% interval of its mean P(right label), over the control's questions in
    both option orders, lies above chance plus ``settings.min_effect``. The answers are read
    as the suites read them (log-probabilities, or ``settings.samples`` sampled answers) and
    cached in the store like theirs.
    """
    items = comprehension_items()
    labelled = replace(settings, answer_format="labelled")
    outcome = score_suite(subject, items, "answer-format", context, labelled)
    probabilities = option_probabilities(outcome)
    right = [float(probabilities[item.id][item.matching]) for item in items]
    est = mean_with_ci(right, rng=context.rng("answer-format"),
                       n_resamples=settings.n_resamples)
    threshold = CHANCE + settings.min_effect
    return AnswerFormatChoice(
        chosen="labelled" if est.low > threshold else "cloze", p_right=est.estimate,
        low=est.low, high=est.high, n=est.n, threshold=threshold)
