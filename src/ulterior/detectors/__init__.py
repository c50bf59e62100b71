"""Detectors: everything that reads a subject for evidence of deception, behind one interface.

A suite is a detector (:class:`SuiteDetector`); the others read activations or weights:
``probe-readout`` (a deception probe on the oversight-gap answers), ``probe-condition`` and
``condition-salience`` (an organism's own condition, known from its manifest),
``salience-scan`` (candidate conditions, against the base model) and ``noise-injection``
(weight noise that breaks sandbagging before capability). ``audit`` and ``validate`` iterate
:func:`default_detectors` and run each where its needs are met.
"""

from ulterior.detectors._base import NEEDS, Detector, DetectorRegistry, Need, Target
from ulterior.detectors._condition import condition_items, condition_labels
from ulterior.detectors._noise_injection import NoiseConfig, NoiseInjection
from ulterior.detectors._probe_condition import ProbeCondition, condition_probe, layer_profile
from ulterior.detectors._probe_readout import ProbeReadout
from ulterior.detectors._registry import default_detectors
from ulterior.detectors._salience import ConditionSalience, condition_salience, condition_share
from ulterior.detectors._salience_scan import (
    BaseReading,
    SalienceScan,
    pointed_at,
    salience_scan,
    scan_items,
)
from ulterior.detectors._suite import SuiteDetector

__all__ = [
    "NEEDS",
    "BaseReading",
    "ConditionSalience",
    "Detector",
    "DetectorRegistry",
    "Need",
    "NoiseConfig",
    "NoiseInjection",
    "ProbeCondition",
    "ProbeReadout",
    "SalienceScan",
    "SuiteDetector",
    "Target",
    "condition_items",
    "condition_labels",
    "condition_probe",
    "condition_salience",
    "condition_share",
    "default_detectors",
    "layer_profile",
    "pointed_at",
    "salience_scan",
    "scan_items",
]
