"""The ``holdspace`` command."""

from __future__ import annotations

import click

from clients.demo import run_demo


@click.group()
@click.version_option(package_name="holdspace")
def cli() -> None:
    """Holdspace: federated, end-to-end-encrypted peer-support groups."""


@cli.command()
def demo() -> None:
    """Walk through the protocol with real keys, signatures and logs."""
    run_demo(click.echo)


def main() -> None:
    cli()
