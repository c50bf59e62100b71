"""ulterior: look for evidence of deceptive alignment in language models.

The public API lives in the subpackages (``ulterior.models``, ``ulterior.runner``, ...);
importing ``ulterior`` itself stays cheap.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
