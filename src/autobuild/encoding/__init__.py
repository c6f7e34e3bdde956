"""Graph encodings of architectures: sequence graphs, and ONNX IR op graphs."""

from __future__ import annotations

from autobuild.encoding.batch import Category, GraphBatch
from autobuild.encoding.ir import IRGraphEncoder
from autobuild.encoding.sequence import SequenceGraphEncoder

__all__ = ["Category", "GraphBatch", "IRGraphEncoder", "SequenceGraphEncoder"]
