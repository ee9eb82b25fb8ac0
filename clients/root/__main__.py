"""``python -m holdspace``: the ``holdspace`` command, as the console script runs it."""

from holdspace.clients.cli import main

if __name__ == "__main__":
    main()
