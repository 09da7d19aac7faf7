"""scaffold: generate PyTorch projects that start from a working baseline."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("scaffold-pytorch")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"

__all__ = ["__version__"]
