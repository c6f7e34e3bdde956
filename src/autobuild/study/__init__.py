"""Studies: ask for architectures, evaluate them anywhere, tell the results.

* :func:`create_study` / :func:`load_study` -- a :class:`Study` in memory or in an SQLite
  file (``"sqlite:///autobuild.db"``) that several processes may share;
* :class:`Trial` -- one asked architecture and its told result;
* :class:`AutoBuildSampler` (the default) and :class:`RandomSampler` -- what is asked next.
"""

from __future__ import annotations

from autobuild.study.files import (
    DEFAULT_STORAGE,
    PENDING_COLUMNS,
    RowError,
    TellReport,
    read_candidates,
    result_columns,
    study_summary,
    tell_results,
    write_trials_csv,
)
from autobuild.study.sampler import (
    AutoBuildSampler,
    BaseSampler,
    History,
    Proposal,
    RandomSampler,
    sampler_from_config,
)
from autobuild.study.study import Study, create_study, load_study
from autobuild.study.trial import Trial

__all__ = [
    "DEFAULT_STORAGE",
    "PENDING_COLUMNS",
    "AutoBuildSampler",
    "BaseSampler",
    "History",
    "Proposal",
    "RandomSampler",
    "RowError",
    "Study",
    "TellReport",
    "Trial",
    "create_study",
    "load_study",
    "read_candidates",
    "result_columns",
    "sampler_from_config",
    "study_summary",
    "tell_results",
    "write_trials_csv",
]
