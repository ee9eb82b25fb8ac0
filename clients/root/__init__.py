"""The installed package's root, ``holdspace``.

Installed, the repository's top-level folders live under this one name: ``holdspace.protocol``,
``holdspace.node``, ``holdspace.clients`` and ``holdspace.simulations`` (``pyproject.toml`` maps each
folder to its name), so nothing claims a generic top-level name in site-packages. This folder holds
only the root itself: ``python -m holdspace`` runs the ``holdspace`` command.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("holdspace")
except PackageNotFoundError:  # run from a tree that was never installed
    __version__ = "0+unknown"
