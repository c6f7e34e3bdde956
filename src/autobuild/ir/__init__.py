"""Op-level graphs of torch networks: the paper's fine-grained "ONNX IR" format.

A network is exported to ONNX and becomes an :class:`IRGraph`: one node per primitive op plus
``input_dummy``/``output_dummy`` nodes, data-flow edges, and per-node op index, shape and
attribute slots (AutoBuild, Mills et al. CVPR 2024, Sec. 3.1 and 5.1). Conversion needs the
optional ``onnx`` package (``pip install 'autobuild[ir]'``); :mod:`autobuild.ir.vocabulary`
and :class:`IRGraph` do not.

Example:
    >>> import torch
    >>> import autobuild as ab
    >>> from autobuild.ir import module_to_ir
    >>> net = ab.networks.build_model(ab.spaces.get("nasbench-macro"), "22212220")
    >>> graph = module_to_ir(net, torch.zeros(1, 3, 32, 32))  # doctest: +SKIP
    >>> graph.op_counts()["Conv"]  # doctest: +SKIP
    23
"""

from __future__ import annotations

from autobuild.ir.graph import IRGraph
from autobuild.ir.onnx_graph import export_onnx, module_to_ir, onnx_to_ir
from autobuild.ir.vocabulary import OP_VOCABULARY, op_index

__all__ = [
    "OP_VOCABULARY",
    "IRGraph",
    "export_onnx",
    "module_to_ir",
    "onnx_to_ir",
    "op_index",
]
