"""Optional parts of the install (pip extras), checked before a command needs them.

A node and the command line install without the local app's web stack (``app``) or the simulator's
plotting stack (``sim``). A command that needs one checks for it first and fails with one clear line
(``client.missing_extra``) naming what to install, never an ``ImportError`` traceback.
"""

from __future__ import annotations

import importlib.util

from holdspace.clients.participant import ClientError

#: extra -> the modules it provides, as imported by the commands that need them
EXTRAS: dict[str, tuple[str, ...]] = {
    "app": ("starlette", "hypercorn", "jinja2", "multipart"),
    "sim": ("matplotlib",),
}


def require(extra: str, what: str) -> None:
    """Raise ``client.missing_extra`` unless every module of ``extra`` can be imported.

    ``what`` names the feature for the person reading the error ("the local app", "plots").
    """
    missing = [name for name in EXTRAS[extra] if importlib.util.find_spec(name) is None]
    if missing:
        raise ClientError(
            "client.missing_extra",
            f"{what} needs the optional '{extra}' part of Holdspace, which is not installed"
            f" (missing: {', '.join(missing)}); install it with: pip install 'holdspace[{extra}]'",
        )
