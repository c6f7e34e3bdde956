"""Optional dependencies fail with the extra that installs them."""

import sys

import pytest
import torch

from autobuild._optional import import_pyg
from autobuild.exceptions import ConfigError
from autobuild.predictor.nn.conv import make_conv


def test_missing_pyg_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch_geometric.nn", None)  # import raises ImportError
    with pytest.raises(ConfigError, match=r"Things need .*pip install 'autobuild\[pyg\]'"):
        import_pyg("nn", "Things")
    conv = make_conv("gcn", 4, 4)
    x, edges = torch.randn(3, 4), torch.tensor([[0, 1], [1, 2]])
    with pytest.raises(ConfigError, match=r"general graphs .*autobuild\[pyg\]"):
        conv(x, edge_index=edges)


def test_present_pyg_is_imported():
    pytest.importorskip("torch_geometric")
    assert import_pyg("nn", "Things").GCNConv.__name__ == "GCNConv"
