"""The package version, in one place (read by the package and by the training record)."""

__version__ = "0.1.0"
