"""Progress of long stages, reported through a value the caller passes in.

The library never decides whether or where to draw: ``expand``, ``dedup_file`` and
``split_file`` take a ``Progress`` (default ``SILENT``) and announce each stage through
it, ``track`` around a loop over items and ``stage`` around a step without a count. The
command line passes a ``StderrProgress`` when progress should show. Reporting only
observes: it never changes what a stage computes or writes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Protocol, TextIO, TypeVar

T = TypeVar("T")


class Progress(Protocol):
    """What a long stage tells: its name, and how far a counted loop has come."""

    def track(self, items: Iterable[T], label: str, total: int | None = None) -> Iterator[T]:
        """Yield ``items`` unchanged while showing ``label`` and the count done."""
        ...

    def stage(self, label: str) -> AbstractContextManager[None]:
        """Show ``label`` for the duration of a step that has no count."""
        ...


class Silent:
    """Reports nothing: the default of every library function."""

    def track(self, items: Iterable[T], label: str, total: int | None = None) -> Iterator[T]:
        return iter(items)

    @contextmanager
    def stage(self, label: str) -> Iterator[None]:
        yield


SILENT: Progress = Silent()


@dataclass(frozen=True)
class StderrProgress:
    """Bars drawn by ``click.progressbar`` on ``stream`` (the command line passes stderr).

    On a terminal each stage is a bar; on anything else click prints each stage's label
    once. click is imported here only when a bar is drawn, so the library stays CLI-free.
    """

    stream: TextIO

    def track(self, items: Iterable[T], label: str, total: int | None = None) -> Iterator[T]:
        import click

        with click.progressbar(items, length=total, label=label, file=self.stream) as bar:
            yield from bar

    @contextmanager
    def stage(self, label: str) -> Iterator[None]:
        import click

        with click.progressbar(length=1, label=label, file=self.stream) as bar:
            yield
            bar.update(1)
