"""``--answer-format auto``: does the subject bind option labels to their content?

Small models answer by label: shown (A) and (B), they prefer a letter whatever it stands for,
so a labelled suite reads nothing from them, deceiver or not. The comprehension control
(easy questions with one right answer, from the precursors pack) tells: a subject that
binds labels picks the right one's label in both option orders. If it does not, the suites
score each option's text instead (cloze).
"""

from __future__ import annotations

from dataclasses import replace

from ulterior.errors import UlteriorError
from ulterior.models import Subject
from ulterior.records import AnswerFormatChoice, Item
from ulterior.runner import RunContext
from ulterior.stats import mean_with_ci
from ulterior.suites._base import SuiteSettings
from ulterior.suites._packs import load_pack
from ulterior.suites._precursors import CONTROL, build_items
from ulterior.suites._readout import option_probabilities, score_suite

CHANCE = 0.5  # two options
CONTROL_READ = "the comprehension control (easy two-option questions, labelled, both orders)"


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
    cached in the store like theirs. Cloze needs whole option texts scored, which a server
    read through top log-probabilities cannot do: such a subject stays labelled, and says so.
    """
    items = comprehension_items()
    threshold = CHANCE + settings.min_effect
    labelled = replace(settings, answer_format="labelled")
    outcome = score_suite(subject, items, "answer-format", context, labelled)
    try:
        probabilities = option_probabilities(outcome)
    except UlteriorError as exc:  # no sampled answer named a label: it cannot answer so
        return AnswerFormatChoice(
            chosen="cloze", p_right=None, low=None, high=None, n=len(items),
            threshold=threshold, reason=f"cloze: {CONTROL_READ} could not be read ({exc})")
    right = [float(probabilities[item.id][item.matching]) for item in items]
    est = mean_with_ci(right, rng=context.rng("answer-format"),
                       n_resamples=settings.n_resamples)
    read = (f"{CONTROL_READ} read P(right label) {est.estimate:.2f} [{est.low:.2f}, "
            f"{est.high:.2f}] over {est.n} questions")
    if est.low > threshold:
        chosen, reason = "labelled", (f"labelled: {read}, above {threshold:.2f}, so the "
                                      "subject binds labels to their options")
    elif settings.samples is None and not subject.capabilities.score_text:
        chosen, reason = "labelled", (
            f"labelled: {read}, not above {threshold:.2f}, but this subject's "
            "log-probabilities score one token, not an option's text; read its labelled "
            "answers with care, or estimate from sampled answers (--samples N), which cloze "
            "can read")
    else:
        chosen, reason = "cloze", (f"cloze (each option's text scored, no labels): {read}, "
                                   f"not above {threshold:.2f}, so the subject does not "
                                   "reliably bind labels to their options")
    return AnswerFormatChoice(chosen=chosen, p_right=est.estimate, low=est.low,
                              high=est.high, n=est.n, threshold=threshold, reason=reason)
