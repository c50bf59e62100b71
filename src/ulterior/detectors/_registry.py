from __future__ import annotations

from functools import partial

from ulterior.detectors._base import DetectorRegistry
from ulterior.detectors._noise_injection import NoiseInjection
from ulterior.detectors._probe_condition import ProbeCondition
from ulterior.detectors._probe_readout import ProbeReadout
from ulterior.detectors._salience import ConditionSalience
from ulterior.detectors._salience_scan import SalienceScan
from ulterior.detectors._suite import SuiteDetector
from ulterior.suites import SuiteRegistry, default_suites


def default_detectors(suites: SuiteRegistry | None = None) -> DetectorRegistry:
    """A new registry: every suite, then the white-box detectors, in the order they run.

    ``suites`` replaces the built-in suites.
    Adding a detector is adding its class here, or registering it on a registry of one's own.
    """
    registry = DetectorRegistry()
    for suite in default_suites() if suites is None else suites:
        registry.register(suite.name, partial(SuiteDetector, suite))
    for detector in (ProbeReadout, ProbeCondition, ConditionSalience, SalienceScan,
                     NoiseInjection):
        registry.register(detector.name, detector)
    return registry
