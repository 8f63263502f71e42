"""The domain and the service layer of the JGSW standards register."""

from importlib.metadata import PackageNotFoundError, version

try:
    VERSION = version("jgsw-lifecycle")
except PackageNotFoundError:  # run from a checkout that was never installed
    VERSION = "0+unknown"
