"""Graph encodings of architectures (sequence graphs)."""

from __future__ import annotations

from autobuild.encoding.sequence import Category, GraphBatch, SequenceGraphEncoder

__all__ = ["Category", "GraphBatch", "SequenceGraphEncoder"]
