import pytest
import torch

import autobuild.spaces as S
from autobuild.encoding import GraphBatch, SequenceGraphEncoder
from autobuild.exceptions import ConfigError
from autobuild.predictor.nn import CONVS, AutoBuildNet, FeatureEmbedding, make_conv


def _batch(space_name: str, n: int, seed: int = 0) -> tuple[SequenceGraphEncoder, GraphBatch]:
    space = S.get(space_name)
    enc = SequenceGraphEncoder(space)
    return enc, enc.encode_batch(space.sample(n, seed=seed))


def _net(enc: SequenceGraphEncoder, **kw) -> AutoBuildNet:
    torch.manual_seed(0)
    return AutoBuildNet([c.size for c in enc.categorical], len(enc.numeric), **kw).double()


def _double(b: GraphBatch) -> GraphBatch:
    return GraphBatch(b.x_cat, b.x_num.double(), b.ptr)


@pytest.mark.parametrize("conv", sorted(CONVS))
def test_chain_fast_path_matches_pyg_layer(conv):
    _, b = _batch("ofa-pn", 20)
    layer = make_conv(conv, 5, 8).double()
    x = torch.randn(b.num_nodes, 5, dtype=torch.float64)
    fast = layer(x, has_prev=b.has_prev.double().unsqueeze(1))
    pyg = layer.make_pyg().double()
    pyg.load_state_dict(layer.state_dict(), strict=True)  # same parameter names and shapes
    ref = pyg(x, b.edge_index())
    torch.testing.assert_close(fast, ref, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(layer(x, edge_index=b.edge_index()), ref, rtol=0, atol=0)


@pytest.mark.parametrize("conv", sorted(CONVS))
def test_model_chain_and_general_paths_agree(conv):
    enc, b = _batch("ofa-mbv3", 16)
    net = _net(enc, conv=conv).eval()
    p1, h1 = net(_double(b))
    p2, h2 = net(_double(b), edge_index=b.edge_index())
    torch.testing.assert_close(p1, p2)
    torch.testing.assert_close(h1, h2)
    assert h1.shape == (5, 16)


# GCN's symmetric normalisation reads the degree of the node *before* a stage, which lies
# outside the subgraph: its isolated-subgraph embeddings are exact only for the first unit.
@pytest.mark.parametrize(
    ("conv", "unit", "slots"),
    [(c, u, False) for c in sorted(CONVS) for u in (0, 4) if not (c == "gcn" and u > 0)]
    + [("gatv2", 4, True)],
)
def test_subgraph_embedding_equals_embedding_inside_full_architecture(conv, unit, slots):
    space = S.get("ofa-pn")
    enc = SequenceGraphEncoder(space)
    layer = [k for k, c in enumerate(enc.categorical) if c.source == "layer"]
    net = _net(enc, conv=conv, slot_columns=layer if slots else ())
    net.train()
    net(_double(enc.encode_batch(space.sample(64, seed=1))))  # move BatchNorm statistics
    net.eval()
    archs = space.sample(8, seed=2)
    full = net.node_embeddings(_double(enc.encode_batch(archs)))
    b_full = enc.encode_batch(archs)
    subs = [space.unit_subgraph(a, unit) for a in archs]
    # Give each subgraph the resolution of its architecture.
    sb = GraphBatch.concat(
        [enc.encode_subgraphs(unit, [s], a.globals) for s, a in zip(subs, archs, strict=True)]
    )
    sub = net.node_embeddings(_double(sb))
    for i, a in enumerate(archs):
        stages = space.units[unit]
        n_before = sum(len(a.stages[s]) for s in range(stages[0]))
        length = sum(len(a.stages[s]) for s in stages)
        node = int(b_full.ptr[i]) + n_before + length - 1
        hop = length - 1
        torch.testing.assert_close(
            sub[hop][int(sb.last_node[i])], full[hop][node], atol=1e-6, rtol=1e-6
        )


def test_embeddings_non_negative_and_mean_pool_norm_is_mean_of_node_norms():
    enc, b = _batch("nasbench-macro", 32)
    net = _net(enc).eval()
    hops = net.node_embeddings(_double(b))
    assert all(bool((h >= 0).all()) for h in hops)
    _, norms = net(_double(b))
    for m, h in enumerate(hops):
        node = h.abs().sum(-1)
        per_graph = torch.stack([node[b.ptr[g] : b.ptr[g + 1]].mean() for g in range(32)])
        torch.testing.assert_close(norms[m], per_graph)


def test_fe_mlp_columns_are_per_category_and_non_negative():
    fe = FeatureEmbedding([3, 2], 1, embedding_dim=4).double()
    x_cat = torch.tensor([[0, 1], [2, 0]])
    x_num = torch.tensor([[0.5], [1.0]], dtype=torch.float64)
    out = fe(x_cat, x_num)
    assert out.shape == (2, 3)
    assert bool((out >= 0).all())
    torch.testing.assert_close(out[0, 0], fe.categorical_scores(0)[0])
    torch.testing.assert_close(out[1, 1], fe.categorical_scores(1)[0])
    torch.testing.assert_close(out[:, 2], fe.numeric_scores(0, x_num[:, 0]))


def test_slot_columns_hold_one_scalar_per_stage_position_and_value():
    fe = FeatureEmbedding([2, 3, 4, 5], 0, slot_columns=[2, 3]).double()
    assert fe.out_channels == 6
    with torch.no_grad():
        fe.slot_table.copy_(-torch.arange(fe.slot_table.numel(), dtype=torch.float64))
    x_cat = torch.tensor([[0, 0, 0, 0], [0, 1, 0, 0], [1, 2, 3, 4]])
    out = fe(x_cat, torch.zeros(3, 0, dtype=torch.float64))
    # Column 2: slot (stage * 3 + position) * 4 + value; column 3 after the 6 * 4 of column 2.
    torch.testing.assert_close(out[:, 4], torch.tensor([0.0, 4.0, 5 * 4 + 3.0]).double())
    torch.testing.assert_close(out[:, 5], torch.tensor([24.0, 29.0, 24 + 5 * 5 + 4.0]).double())
    for c in range(4):  # the per-category columns are unchanged
        torch.testing.assert_close(out[:, c], fe.categorical_scores(c)[x_cat[:, c]])
    with pytest.raises(ValueError, match="Slot columns"):
        FeatureEmbedding([2, 3, 4], 0, slot_columns=[1])


def test_isolated_embedding_gets_gradient_from_hop0_only():
    enc, b = _batch("nasbench-macro", 8)
    net = _net(enc, isolate_embedding=True)
    pred, _ = net(_double(b))
    pred.sum().backward()
    assert (
        net.embed.embedding.weight.grad is None
        or float(net.embed.embedding.weight.grad.abs().sum()) == 0
    )
    net.zero_grad()
    _, norms = net(_double(b))
    norms[0].sum().backward()
    assert float(net.embed.embedding.weight.grad.abs().sum()) > 0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"conv": "sage"}, "Unknown GNN layer 'sage'"),
        ({"act": "tanh"}, "Unknown activation"),
        ({"readout": "median"}, "Unknown readout"),
        ({"num_layers": 0}, "num_layers"),
    ],
)
def test_bad_model_arguments(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        AutoBuildNet([3], 0, **kwargs)


def test_wide_numeric_categories_embed_their_columns_together():
    torch.manual_seed(0)
    fe = FeatureEmbedding([5], [3, 1, 2], embedding_dim=4, hidden_channels=6)
    assert fe.out_channels == 4
    x_cat = torch.tensor([[1], [4]])
    x_num = torch.randn(2, 6)
    out = fe(x_cat, x_num)
    assert out.shape == (2, 4)
    assert (out >= 0).all()
    # Category 0 reads columns 0-2 through Linear(3, H) then Linear(H, 1).
    w1, b1 = fe.num_weight1[0:3], fe.num_bias1[0]
    hidden = x_num[:, 0:3] @ w1 + b1
    expected = (hidden * fe.num_weight2[0]).sum(-1) + fe.num_bias2[0]
    torch.testing.assert_close(out[:, 1], expected.abs())
    # Changing a column of category 2 changes only that category's output.
    x2 = x_num.clone()
    x2[:, 5] += 1.0
    out2 = fe(x_cat, x2)
    torch.testing.assert_close(out2[:, :3], out[:, :3])
    assert not torch.allclose(out2[:, 3], out[:, 3])
    # Per-value scores exist for the scalar category only.
    assert fe.numeric_scores(1, torch.tensor([0.0, 1.0])).shape == (2,)
    with pytest.raises(ValueError, match="3 columns"):
        fe.numeric_scores(0, torch.tensor([0.0]))


def test_scalar_numeric_widths_equal_a_count():
    torch.manual_seed(0)
    a = FeatureEmbedding([3, 2], 2)
    torch.manual_seed(0)
    b = FeatureEmbedding([3, 2], [1, 1])
    x_cat, x_num = torch.tensor([[0, 1], [2, 0]]), torch.rand(2, 2)
    torch.testing.assert_close(a(x_cat, x_num), b(x_cat, x_num), rtol=0, atol=0)


def test_registered_modules_match_the_names_configs_accept():
    from autobuild.predictor.config import ACTIVATION_NAMES, CONV_NAMES
    from autobuild.predictor.nn import ACTIVATIONS

    assert sorted(CONVS) == sorted(CONV_NAMES)
    assert sorted(ACTIVATIONS) == sorted(ACTIVATION_NAMES)
