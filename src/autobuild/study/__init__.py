"""Studies: ask for architectures, evaluate them anywhere, tell the results.

* :func:`create_study` / :func:`load_study` -- a :class:`Study` in memory or in an SQLite
  file (``"sqlite:///autobuild.db"``) that several processes may share;
* :class:`Trial` -- one asked architecture and its told result;
* :class:`AutoBuildSampler` (the default) and :class:`RandomSampler` -- what is asked next.
"""

from __future__ import annotations

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
    "AutoBuildSampler",
    "BaseSampler",
    "History",
    "Proposal",
    "RandomSampler",
    "Study",
    "Trial",
    "create_study",
    "load_study",
    "sampler_from_config",
]
