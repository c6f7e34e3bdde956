"""The study storage interface: ask/tell studies over architectures, and their trials.

A study proposes architectures to evaluate (:meth:`BaseStudyStorage.ask` hands them out as
pending *trials*) and receives their results (:meth:`BaseStudyStorage.tell`). Several
workers, in several processes, may ask and tell one study at the same time: each ``ask`` is
one atomic step, so no architecture is handed out twice (except a stale pending trial,
re-asked on purpose), trial numbers are dense, and a trial keeps the first result told.
The rounds of the study's sampler (what it learned from the trials told so far) are kept
too (:meth:`BaseStudyStorage.add_round`).

:class:`BaseStudyStorage` checks every argument and implements the rules; a backend only
keeps the data, in the template methods ``_...``. So every backend accepts and refuses the
same calls and returns the same records. Values are kept as JSON text (the architecture as
canonical JSON: sorted keys, no spaces); nothing is pickled.
"""

from __future__ import annotations

import time
from abc import abstractmethod
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any, Literal, get_args

from autobuild._validation import check_int, check_number
from autobuild.exceptions import ConfigError, DataError
from autobuild.storage._json import arch_text, canonical_json, check_metrics, check_time
from autobuild.storage.kept import Kept
from autobuild.storage.study_records import RoundRecord, StudyRecord, TrialRecord, TrialState

__all__ = ["BaseStudyStorage"]

_STATES: tuple[str, ...] = get_args(TrialState)
_TOLD_STATES = ("complete", "failed")


class BaseStudyStorage(Kept):
    """Studies, their trials and their sampler rounds; subclasses keep the data.

    Use it as a context manager, or call :meth:`close`.

    Args:
        path: Where the data is kept, as shown in messages (a file path or ``":memory:"``).

    Attributes:
        path: Where the data is kept.
    """

    kind = "study storage"

    # -- studies --------------------------------------------------------------------------

    def create_study(
        self,
        name: str,
        *,
        space_fingerprint: str,
        space: Mapping[str, Any],
        config: Mapping[str, Any],
    ) -> StudyRecord:
        """Create the study ``name``; one atomic step, so of two creators one wins.

        Args:
            name: Study name, unique in the storage.
            space_fingerprint: Fingerprint of the search space.
            space: The search space as JSON (e.g. ``SearchSpace.to_dict()``); stored as is.
            config: Objectives, sampler settings, seed...; must be JSON-serialisable.

        Returns:
            The new study.

        Raises:
            ConfigError: ``name`` already holds a study, or an argument is invalid.
        """
        if not isinstance(name, str) or not name:
            raise ConfigError(f"study name must be a non-empty string, got {name!r}")
        if not isinstance(space_fingerprint, str):
            raise ConfigError(f"space_fingerprint must be a string, got {space_fingerprint!r}")
        if not isinstance(space, Mapping):
            raise ConfigError(f"space must be a mapping (JSON object), got {type(space).__name__}")
        if not isinstance(config, Mapping):
            raise ConfigError(
                f"config must be a mapping (JSON object), got {type(config).__name__}"
            )
        space_json = canonical_json(dict(space), "study space")
        config_json = canonical_json(dict(config), "study config")
        self._check_open()
        created = self._add_study(name, space_fingerprint, space_json, config_json, time.time())
        if created is None:
            raise ConfigError(
                f"study {name!r} already exists in {self.path!r}; load it with load_study, "
                "or pick another name"
            )
        return created

    def get_study(self, name: str) -> StudyRecord | None:
        """Return the study called ``name``, or ``None``.

        Raises:
            ConfigError: ``name`` is not a string.
        """
        if not isinstance(name, str):
            raise ConfigError(f"study name must be a string, got {name!r}")
        self._check_open()
        return self._study_named(name)

    def study(self, study_id: int) -> StudyRecord:
        """Return the study with id ``study_id``.

        Raises:
            DataError: No study has this id.
        """
        self._check_study_id(study_id)
        self._check_open()
        found = self._study(study_id)
        if found is None:
            raise self._no_study(study_id)
        return found

    def list_studies(self) -> list[StudyRecord]:
        """Return every study in the storage, oldest first."""
        self._check_open()
        return self._studies()

    # -- trials ---------------------------------------------------------------------------

    def ask(
        self,
        study_id: int,
        proposals: Sequence[tuple[str, Any]],
        n: int,
        *,
        round: int,
        stale_after: float | None = None,
        now: float | None = None,
    ) -> list[TrialRecord]:
        """Hand out up to ``n`` trials to evaluate, in one atomic step.

        Safe with several workers (threads or processes) asking one study: an architecture
        is handed out once, unless it is re-asked as stale (1.).

        1. With ``stale_after``, pending trials last handed out at least ``stale_after``
           seconds before ``now`` (their worker probably died) are handed out again first,
           lowest number first: same id and number, ``asked_at`` set to ``now``,
           ``attempts`` + 1.
        2. The remaining slots are filled from ``proposals``, in their order: an
           architecture already in the study (pending or told, whatever its JSON) is
           skipped, as is a repeat within ``proposals``; each other one becomes a new pending
           trial with the next number, ``round``, ``attempts`` 1 and ``asked_at`` ``now``.

        Args:
            study_id: Id of the study (:attr:`StudyRecord.id`).
            proposals: ``(arch_id, arch_json)`` pairs, best first: a canonical architecture
                id and the architecture as JSON text or a JSON-serialisable value (stored as
                canonical JSON). Every pair is checked, used or not.
            n: Most trials to hand out (>= 1).
            round: The sampler round that made ``proposals`` (>= -1; -1 for none).
            stale_after: Seconds after which a pending trial is handed out again; ``None``
                never re-asks.
            now: Unix time of the ask; the current time by default.

        Returns:
            The trials handed out, re-asked ones first, then new ones by number; fewer than
            ``n`` when ``proposals`` run out.

        Raises:
            ConfigError: An argument is invalid (``n``, ``round``, ``stale_after``, ``now``,
                a proposal that is not a pair of a non-empty id and JSON).
            DataError: No study has ``study_id``.
        """
        self._check_study_id(study_id)
        check_int("n", n, low=1)
        check_int("round", round, low=-1)
        if stale_after is not None:
            stale_after = check_number("stale_after", stale_after, low=0)
        when = time.time() if now is None else check_time(now, "now")
        pairs = _check_proposals(proposals)
        self._check_open()
        stale_before = None if stale_after is None else when - stale_after
        handed = self._ask(study_id, pairs, n, round, stale_before, when)
        if handed is None:
            raise self._no_study(study_id)
        return handed

    def tell(
        self,
        trial_id: int,
        *,
        state: Literal["complete", "failed"],
        metrics: Mapping[str, float],
        error: str | None = None,
        now: float | None = None,
    ) -> TrialRecord:
        """Store the result of a pending trial before returning (durably, for a file).

        A trial is told once: its first result is kept (first-told-wins), so a second tell,
        e.g. by a worker whose stale trial was re-asked and told by another, is refused.

        Args:
            trial_id: Id of the trial (:attr:`TrialRecord.id`).
            state: ``"complete"`` or ``"failed"``.
            metrics: Metric name to finite real number; at least one for ``"complete"``, may
                be empty for ``"failed"``.
            error: Error text; required for ``"failed"``, must be ``None`` for
                ``"complete"``.
            now: Unix time of the tell; the current time by default.

        Returns:
            The told trial.

        Raises:
            ConfigError: The trial was already told, or ``state``, ``error`` or ``now`` is
                invalid.
            DataError: A metric is not a finite real number, a complete trial has no metric,
                or no trial has ``trial_id``.
        """
        check_int("trial_id", trial_id, low=1)
        if state not in _TOLD_STATES:
            raise ConfigError(f"state must be 'complete' or 'failed', got {state!r}")
        if state == "failed" and not (isinstance(error, str) and error):
            raise ConfigError(
                f"a failed trial (id {trial_id}) needs its error text, got error={error!r}"
            )
        if state == "complete" and error is not None:
            raise ConfigError(
                f"a complete trial (id {trial_id}) cannot carry error {error!r}; tell it "
                "with state='failed', or leave error out"
            )
        clean = check_metrics(
            metrics,
            f"trial id {trial_id}",
            failed_hint="Tell a non-finite result as state='failed' with an error and no "
            "such metric.",
        )
        if state == "complete" and not clean:
            raise DataError(
                f"a complete trial (id {trial_id}) needs at least one metric; tell a trial "
                "without results as state='failed' with an error"
            )
        when = time.time() if now is None else check_time(now, "now")
        self._check_open()
        told = self._tell(trial_id, state, clean, error, when)
        if told is None:
            raise DataError(f"no trial with id {trial_id!r} in {self.path!r}")
        record, changed = told
        if not changed:
            raise ConfigError(
                f"trial {record.number} ({record.arch_id!r}) of study {record.study_id} is "
                f"already {record.state}; a trial is told once and its first result is kept "
                "(first-told-wins). Ask for another trial instead of telling this one again"
            )
        return record

    def trials(
        self, study_id: int, states: Collection[TrialState] | None = None
    ) -> list[TrialRecord]:
        """Return the trials of a study, by number.

        Args:
            study_id: Id of the study.
            states: Keep only trials in these states; ``None`` keeps every trial.

        Raises:
            ConfigError: ``states`` holds something other than a trial state.
            DataError: No study has ``study_id``.
        """
        self._check_study_id(study_id)
        wanted: tuple[str, ...] | None = None
        if states is not None:
            if isinstance(states, str) or not isinstance(states, Iterable):
                raise ConfigError(
                    f"states must be a collection of trial states {_STATES}, got {states!r}; "
                    f"e.g. states=[{states!r}]"
                )
            bad = [s for s in states if s not in _STATES]
            if bad:
                raise ConfigError(f"unknown trial states {bad!r}; use some of {_STATES}")
            wanted = tuple(sorted(set(states)))
        self._check_open()
        found = self._trials(study_id, wanted)
        if found is None:
            raise self._no_study(study_id)
        return found

    def trial(self, trial_id: int) -> TrialRecord:
        """Return the trial with id ``trial_id``.

        Raises:
            DataError: No trial has this id.
        """
        check_int("trial_id", trial_id, low=1)
        self._check_open()
        found = self._trial(trial_id)
        if found is None:
            raise DataError(f"no trial with id {trial_id!r} in {self.path!r}")
        return found

    # -- sampler rounds -------------------------------------------------------------------

    def add_round(
        self, study_id: int, round: int, *, n_told: int, data: Mapping[str, Any]
    ) -> RoundRecord:
        """Keep what the sampler learned in ``round``, unless the round is already kept.

        Two workers may compute the same round: the first one added is kept, and both get
        that record.

        Args:
            study_id: Id of the study.
            round: 0-based round number.
            n_told: How many told trials the sampler learned from (>= 0).
            data: What the round found; must be JSON-serialisable.

        Returns:
            The kept round (the existing one if ``round`` was already added).

        Raises:
            ConfigError: An argument is invalid.
            DataError: No study has ``study_id``.
        """
        self._check_study_id(study_id)
        check_int("round", round, low=0)
        check_int("n_told", n_told, low=0)
        if not isinstance(data, Mapping):
            raise ConfigError(
                f"round data must be a mapping (JSON object), got {type(data).__name__}"
            )
        data_json = canonical_json(dict(data), f"data of round {round}")
        self._check_open()
        kept = self._add_round(study_id, round, n_told, time.time(), data_json)
        if kept is None:
            raise self._no_study(study_id)
        return kept

    def rounds(self, study_id: int) -> list[RoundRecord]:
        """Return the sampler rounds of a study, by round.

        Raises:
            DataError: No study has ``study_id``.
        """
        self._check_study_id(study_id)
        self._check_open()
        found = self._rounds(study_id)
        if found is None:
            raise self._no_study(study_id)
        return found

    def last_round(self, study_id: int) -> int:
        """Return the number of the study's latest kept round, 0 when none is kept.

        Cheaper than :meth:`rounds` (which reads every round's data): a study numbers its
        next round from this.

        Raises:
            DataError: No study has ``study_id``.
        """
        self._check_study_id(study_id)
        self._check_open()
        found = self._last_round(study_id)
        if found is None:
            raise self._no_study(study_id)
        return found

    # -- lifetime -------------------------------------------------------------------------

    @staticmethod
    def _check_study_id(study_id: Any) -> None:
        check_int("study_id", study_id, low=1)

    def _no_study(self, study_id: int) -> DataError:
        return DataError(
            f"no study with id {study_id!r} in {self.path!r}; list_studies() shows the "
            "studies it holds"
        )

    # -- what a backend implements (arguments already checked) ----------------------------

    @abstractmethod
    def _add_study(
        self,
        name: str,
        space_fingerprint: str,
        space_json: str,
        config_json: str,
        created_at: float,
    ) -> StudyRecord | None:
        """Add the study ``name``; ``None`` when the name is taken. One atomic step."""

    @abstractmethod
    def _study_named(self, name: str) -> StudyRecord | None:
        """The study called ``name``, or ``None``."""

    @abstractmethod
    def _study(self, study_id: int) -> StudyRecord | None:
        """The study with id ``study_id``, or ``None``."""

    @abstractmethod
    def _studies(self) -> list[StudyRecord]:
        """Every study, in the order they were added."""

    @abstractmethod
    def _ask(
        self,
        study_id: int,
        proposals: list[tuple[str, str]],
        n: int,
        round: int,
        stale_before: float | None,
        now: float,
    ) -> list[TrialRecord] | None:
        """Hand out up to ``n`` trials; one atomic step (see :meth:`ask`).

        Args:
            study_id: Id of the study.
            proposals: ``(arch_id, canonical arch JSON)`` pairs, without repeated ids.
            n: Most trials to hand out.
            round: Round of the new trials.
            stale_before: Re-ask pending trials with ``asked_at <= stale_before`` first;
                ``None``: none.
            now: ``asked_at`` of every trial handed out.

        Returns:
            Re-asked trials by number, then new ones by number; ``None`` when no study has
            ``study_id``.
        """

    @abstractmethod
    def _tell(
        self,
        trial_id: int,
        state: str,
        metrics: dict[str, float],
        error: str | None,
        told_at: float,
    ) -> tuple[TrialRecord, bool] | None:
        """Tell a pending trial; one atomic step, leaving a told trial unchanged.

        Returns:
            The trial as stored and whether this call told it; ``None`` when no trial has
            ``trial_id``.
        """

    @abstractmethod
    def _trials(self, study_id: int, states: tuple[str, ...] | None) -> list[TrialRecord] | None:
        """The trials of a study in ``states`` (all for ``None``) by number; ``None`` when
        no study has ``study_id``."""

    @abstractmethod
    def _trial(self, trial_id: int) -> TrialRecord | None:
        """The trial with id ``trial_id``, or ``None``."""

    @abstractmethod
    def _add_round(
        self, study_id: int, round: int, n_told: int, created_at: float, data_json: str
    ) -> RoundRecord | None:
        """Add a round unless the study has it; one atomic step.

        Returns:
            The round as stored (the existing one when there was one); ``None`` when no
            study has ``study_id``.
        """

    @abstractmethod
    def _rounds(self, study_id: int) -> list[RoundRecord] | None:
        """The rounds of a study by round; ``None`` when no study has ``study_id``."""

    @abstractmethod
    def _last_round(self, study_id: int) -> int | None:
        """The largest kept round number (0 when none); ``None`` when no study has the id."""


def _check_proposals(proposals: Any) -> list[tuple[str, str]]:
    """``proposals`` as ``(arch_id, canonical JSON)`` pairs, the first of each id kept."""
    if isinstance(proposals, (str, bytes, Mapping)) or not isinstance(proposals, Iterable):
        raise ConfigError(
            "proposals must be a sequence of (arch_id, arch_json) pairs, got "
            f"{type(proposals).__name__}"
        )
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    for i, item in enumerate(proposals):
        if not isinstance(item, (tuple, list)) or len(item) != 2:
            raise ConfigError(
                f"proposal {i} must be an (arch_id, arch_json) pair, got {item!r:.200}"
            )
        arch_id, arch = item
        if not isinstance(arch_id, str) or not arch_id:
            raise ConfigError(
                f"arch_id of proposal {i} must be a non-empty string, got {arch_id!r:.200}"
            )
        text = arch_text(arch, arch_id)
        if arch_id not in seen:
            seen.add(arch_id)
            out.append((arch_id, text))
    return out
