"""The run store interface: searches and their evaluations, kept as they finish.

A search is identified by its ``name``; reopening the same name with the same search space
fingerprint, configuration and seed resumes it, with everything already evaluated available
through :meth:`BaseRunStore.evaluations` and :meth:`BaseRunStore.lookup`, so nothing is
evaluated twice.

:class:`BaseRunStore` checks every argument and implements the rules (a name holds one
search, an architecture is recorded once per search, the evaluation order ``seq`` is dense);
a backend only keeps the data, in the template methods ``_...``. So every backend accepts
and refuses the same calls and returns the same records. Values are kept as JSON text (the
architecture and the configuration as canonical JSON: sorted keys, no spaces); nothing is
pickled.
"""

from __future__ import annotations

import time
from abc import abstractmethod
from collections.abc import Mapping
from typing import Any

from autobuild.exceptions import ConfigError, DataError
from autobuild.storage._json import arch_text, check_metrics, check_time
from autobuild.storage._json import canonical_json as canonical_json  # sqlite_store uses it
from autobuild.storage.kept import Kept
from autobuild.storage.records import EvaluationRecord, EvaluationStatus, SearchRecord

__all__ = ["BaseRunStore"]


class BaseRunStore(Kept):
    """Searches and their evaluations; subclasses keep the data.

    Use it as a context manager, or call :meth:`close`.

    Args:
        path: Where the data is kept, as shown in messages (a file path or ``":memory:"``).

    Attributes:
        path: Where the data is kept.
    """

    kind = "run store"

    # -- searches -------------------------------------------------------------------------

    def create_or_resume(
        self,
        name: str,
        *,
        space_fingerprint: str,
        config: Mapping[str, Any],
        seed: int | None,
    ) -> SearchRecord:
        """Create the search ``name``, or return it if it already exists with the same setup.

        Args:
            name: Unique search name (``--name``).
            space_fingerprint: Fingerprint of the search space.
            config: Search configuration; must be JSON-serialisable. Compared as canonical
                JSON (key order does not matter).
            seed: Random seed of the search.

        Returns:
            The new or existing search.

        Raises:
            ConfigError: ``name`` already holds a search with a different space fingerprint,
                configuration or seed, or an argument is invalid.
        """
        if not isinstance(name, str) or not name:
            raise ConfigError(f"search name must be a non-empty string, got {name!r}")
        if not isinstance(space_fingerprint, str):
            raise ConfigError(f"space_fingerprint must be a string, got {space_fingerprint!r}")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise ConfigError(f"seed must be an integer or None, got {seed!r}")
        if not isinstance(config, Mapping):
            raise ConfigError(f"config must be a mapping, got {type(config).__name__}")
        config_json = canonical_json(dict(config), "search config")
        self._check_open()
        existing = self._get_or_add_search(name, space_fingerprint, config_json, seed, time.time())
        stored_json = canonical_json(existing.config, "stored search config")
        differences = []
        if existing.space_fingerprint != space_fingerprint:
            differences.append(
                f"space fingerprint {existing.space_fingerprint!r} != {space_fingerprint!r}"
            )
        if stored_json != config_json:
            differences.append(f"config {stored_json} != {config_json}")
        if existing.seed != seed:
            differences.append(f"seed {existing.seed!r} != {seed!r}")
        if differences:
            raise ConfigError(
                f"--name {name!r} already holds a different search in {self.path!r} ("
                + "; ".join(differences)
                + "); pick another name, or rerun with the original settings to resume it"
            )
        return existing

    def get_search(self, name: str) -> SearchRecord | None:
        """Return the search called ``name``, or ``None``."""
        self._check_open()
        return self._search_named(name)

    def list_searches(self) -> list[SearchRecord]:
        """Return every search in the store, oldest first."""
        self._check_open()
        return self._searches()

    def mark_finished(self, search_id: int) -> None:
        """Mark a search as finished (idempotent).

        Raises:
            DataError: No search has this id.
        """
        self._check_open()
        if not self._set_finished(search_id):
            raise DataError(f"no search with id {search_id!r} in {self.path!r}")

    # -- evaluations ----------------------------------------------------------------------

    def record(
        self,
        search_id: int,
        arch_id: str,
        arch_json: Any,
        metrics: Mapping[str, float],
        *,
        status: EvaluationStatus = "ok",
        error: str | None = None,
        started_at: float,
        finished_at: float,
    ) -> int:
        """Store one finished evaluation before returning (durably, for a file store).

        Recording is idempotent per ``(search_id, arch_id)``: if the architecture is already
        recorded (e.g. a retried distributed task), the existing ``seq`` is returned and the
        stored record is kept unchanged (first write wins), provided ``arch_json`` is the same
        architecture; the search never sees a second ``seq`` for one architecture.

        Args:
            search_id: Id of the search (:attr:`SearchRecord.id`).
            arch_id: Canonical architecture id.
            arch_json: The architecture as JSON text or as a JSON-serialisable value; stored
                as canonical JSON (sorted keys, no spaces), so both forms compare equal.
            metrics: Metric name to finite real number. May be empty only for a failed
                evaluation.
            status: ``"ok"`` or ``"failed"``.
            error: Error text; required for ``"failed"``, must be ``None`` for ``"ok"``.
            started_at: Unix time the evaluation started.
            finished_at: Unix time the evaluation finished.

        Returns:
            The evaluation's 0-based position ``seq`` in the search.

        Raises:
            DataError: A metric is not a finite number, no search has ``search_id``, or
                ``arch_id`` is already recorded with a different architecture.
            ConfigError: ``status``, ``error``, ``arch_json`` or the times are invalid.
        """
        if not isinstance(arch_id, str) or not arch_id:
            raise ConfigError(f"arch_id must be a non-empty string, got {arch_id!r}")
        if status not in ("ok", "failed"):
            raise ConfigError(f"status must be 'ok' or 'failed', got {status!r}")
        if status == "failed" and not (isinstance(error, str) and error):
            raise ConfigError(f"a failed evaluation of {arch_id!r} needs its error text")
        if status == "ok" and error is not None:
            raise ConfigError(f"an ok evaluation of {arch_id!r} cannot carry error {error!r}")
        arch_json_text = arch_text(arch_json, arch_id)
        clean = check_metrics(
            metrics,
            repr(arch_id),
            failed_hint="Record a non-finite result as status='failed' with an error and no "
            "such metric.",
        )
        if status == "ok" and not clean:
            raise DataError(f"an ok evaluation of {arch_id!r} needs at least one metric")
        start = check_time(started_at, "started_at")
        finish = check_time(finished_at, "finished_at")
        self._check_open()
        new = EvaluationRecord(
            search_id=search_id,
            seq=-1,  # the store gives the next one
            arch_id=arch_id,
            arch_json=arch_json_text,
            metrics=clean,
            status=status,
            error=error,
            started_at=start,
            finished_at=finish,
            seconds=finish - start,
        )
        stored = self._append(new)
        if stored is None:
            raise DataError(f"no search with id {search_id!r} in {self.path!r}")
        if stored.arch_json != arch_json_text:
            raise DataError(
                f"architecture id {arch_id!r} is already recorded for search "
                f"{search_id} with architecture {stored.arch_json}, not {arch_json_text}; "
                "architecture ids must be canonical"
            )
        return stored.seq

    def evaluations(self, search_id: int) -> list[EvaluationRecord]:
        """Return every evaluation of a search, in evaluation order (``seq``)."""
        self._check_open()
        return self._evaluations(search_id)

    def lookup(self, search_id: int, arch_id: str) -> EvaluationRecord | None:
        """Return the evaluation of ``arch_id`` in a search, or ``None`` if not yet evaluated."""
        self._check_open()
        return self._lookup(search_id, arch_id)

    def count(self, search_id: int) -> int:
        """Return how many evaluations (ok and failed) a search has."""
        self._check_open()
        return self._count(search_id)

    # -- lifetime -------------------------------------------------------------------------

    # -- what a backend implements (arguments already checked) ----------------------------

    @abstractmethod
    def _get_or_add_search(
        self,
        name: str,
        space_fingerprint: str,
        config_json: str,
        seed: int | None,
        created_at: float,
    ) -> SearchRecord:
        """The search called ``name``, added first (status ``"running"``) if there is none.

        Looking up and adding must be one atomic step.
        """

    @abstractmethod
    def _search_named(self, name: str) -> SearchRecord | None:
        """The search called ``name``, or ``None``."""

    @abstractmethod
    def _searches(self) -> list[SearchRecord]:
        """Every search, in the order they were added."""

    @abstractmethod
    def _set_finished(self, search_id: int) -> bool:
        """Set a search's status to ``"finished"``; ``False`` when no search has the id."""

    @abstractmethod
    def _append(self, new: EvaluationRecord) -> EvaluationRecord | None:
        """Keep ``new`` as the next evaluation of its search, unless it is already there.

        One atomic step: if ``new.arch_id`` is already recorded for the search, return that
        record unchanged; otherwise keep ``new`` with ``seq`` set to the search's evaluation
        count and return it.

        Returns:
            The stored record of ``new.arch_id``, or ``None`` when no search has
            ``new.search_id``.
        """

    @abstractmethod
    def _evaluations(self, search_id: int) -> list[EvaluationRecord]:
        """Every evaluation of a search, by ``seq``."""

    @abstractmethod
    def _lookup(self, search_id: int, arch_id: str) -> EvaluationRecord | None:
        """The evaluation of ``arch_id`` in a search, or ``None``."""

    @abstractmethod
    def _count(self, search_id: int) -> int:
        """The number of evaluations of a search."""
