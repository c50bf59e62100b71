"""Suites: the behavioural battery. Each builds its items, scores them and reads them out."""

from ulterior.suites._base import Suite, SuiteRegistry, SuiteSettings, default_suites

__all__ = ["Suite", "SuiteRegistry", "SuiteSettings", "default_suites"]
