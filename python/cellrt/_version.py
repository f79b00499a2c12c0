from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("cellrt")
except PackageNotFoundError:  # running from a source tree (dev build, PYTHONPATH=python)
    __version__ = "0.0.0+source"
