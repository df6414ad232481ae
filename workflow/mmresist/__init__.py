"""mmresist: multiple myeloma relapse resistance profiling."""

__version__ = "0.1.0"
