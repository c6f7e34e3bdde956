"""Stable Diffusion v1.4 U-Net variants (AutoBuild, Mills et al. CVPR 2024, Sec. 5.3).

The space of 765,450 U-Net variants of Stable Diffusion v1.4 that a user with a few dozen
fine-tuned and evaluated variants (the paper's 68) declares: per stage a channel width and a
sequence of residual-convolution and attention layers, some switched off. It holds no
diffusion model and no builder (:func:`autobuild.networks.build_model` refuses it); it is the
vocabulary the predictor and the subgraph scores speak.

**The real network.** SD v1.4's ``UNet2DConditionModel`` (``CompVis/stable-diffusion-v1-4``)
works on 4 x 64 x 64 latents (512 x 512 images) with ``block_out_channels`` (320, 640, 1280,
1280), ``layers_per_block`` 2, 8 attention heads and 768-wide text conditioning. Its down
blocks are ``CrossAttnDownBlock2D`` x 3 and ``DownBlock2D`` at 64², 32², 16² and 8²; each
holds 2 *groups*, a group being one ``ResnetBlock2D`` followed (in the cross-attention blocks)
by one ``Transformer2DModel`` (self-attention, cross-attention, feed-forward). The mid block
is resnet, transformer, resnet at 8². The up blocks (``UpBlock2D``, ``CrossAttnUpBlock2D``
x 3) mirror the down blocks at 8², 16², 32² and 64² with 3 groups each (``layers_per_block``
+ 1: the extra resnet takes the skip connection that the level's input, i.e. ``conv_in`` or
the downsampler above, provides).

**Stages.** The paper's four stages are the four resolution levels, in network order:

* unit 1, ``s1`` (64²): down block 1 and its mirror, up block 4. SD v1.4: resnet x 2 (its
  attention there is not represented, see below). Widths 192, 256, 320.
* unit 2, ``s2`` (32²): down block 2 and up block 3. SD v1.4: (resnet, attention) x 2.
  Widths 384, 512, 640.
* unit 3, ``s3`` (16²): down block 3 and up block 2. SD v1.4: (resnet, attention) x 2.
  Widths 768, 1024, 1280.
* unit 4, ``s4`` (8²): down block 4 and up block 1. SD v1.4: resnet x 2. Widths 768, 1024,
  1280.
* unit 4, ``mid`` (8²): the mid block. SD v1.4: resnet, attention, resnet. Stage 4's width.

A stage is the sequence of its down block's layers, each node an ``op``: ``"resnet"`` (a
``ResnetBlock2D``) or ``"attention"`` (a ``Transformer2DModel``). The up block of the same
level is not searched separately: it repeats the stage's sequence and then its last group
once more, so it keeps one resnet more than the down block (as every diffusers U-Net does)
and consumes exactly the skip connections the down path produces; for SD v1.4 this gives
back its 3-group up blocks. Mirroring is forced by the size as well as by the skips:
searching each level's 10 real layers freely would give at least 2^9 configurations per
level and more than 10^9 architectures with SD v1.4 in the space, not about 800k.

**Switching layers off and on.** A stage's first layer is always the ``ResnetBlock2D`` that
changes the channel count to the stage's width; it cannot be removed. The others may be
removed (``min_layers`` 1), each removed node taking its ``ResnetBlock2D`` or
``Transformer2DModel`` out of the down block and out of the mirrored up block, and the
remaining positions up to the stage's ``max_layers`` (SD v1.4's own depth: 2, 4, 4, 2 and
3 for the mid block) may each hold either kind, so a position may also hold a resnet where
SD v1.4 has attention, or the other way round. The mid block's first resnet is fixed too.

**Widths.** One channel width per stage, 0.6, 0.8 or 1.0 times SD v1.4's (multiples of 64,
so GroupNorm's 32 groups and the 8 heads divide them); the mid block has stage 4's width,
as in diffusers. The width is the ``channels`` feature of the stage's first layer; later
layers have ``channels`` = ``"same"``. A stage subgraph (what AutoBuild scores) is a whole
stage configuration, so it always carries its width, on its first node, and every later
node sees it through the chain's edges. Global features would not: subgraphs are scored
without the architecture's other choices. Stage 4 and the mid block form one unit, so
stage 4's width reaches the mid block's nodes in its subgraphs.

**No attention at 64².** Like SnapFusion (which the paper follows) the space removes
attention from the earliest stage, whose 4,096-token self-attention costs the most FLOPs:
``s1`` allows ``"resnet"`` only, in every architecture, on the down and on the up side.
SD v1.4 itself has five ``Transformer2DModel`` layers there (2 down, 3 up) that the space has
no node for, so :data:`SD_V1_4` is the original U-Net as the space represents it, the
point that holds its labels (the paper counts it among its 68): everything else is the
original; the 64² attention is not represented. A data set that mixes the original with
variants that really drop the 64² attention gives the predictor no way to tell them apart
there.

Outside the search and fixed: ``conv_in`` / ``conv_out`` (4 latent channels in and out, at
stage 1's width), the timestep embedding, the down/up samplers (which follow the widths),
the text encoder and the VAE.

**Size.** Stage configurations: ``s1`` 3 x 2 = 6; ``s2`` and ``s3`` 3 x (1 + 2 + 4 + 8) = 45;
``s4`` 3 x (1 + 2) = 9; ``mid`` 1 + 2 + 4 = 7. Subgraphs per unit 6, 45, 45 and 63 (159 in
all); 6 x 45 x 45 x 63 = 765,450 architectures, small enough for the exhaustive-search
baseline to predict every one in batches.

Example:
    >>> import autobuild as ab
    >>> space = ab.spaces.get("sd-unet")
    >>> space.size()
    765450
    >>> [space.count_subgraphs(u) for u in range(space.num_units)]
    [6, 45, 45, 63]
    >>> space.parse(SD_V1_4).depths
    (2, 4, 4, 2, 3)
"""

from __future__ import annotations

from typing import Any

from autobuild.spaces._space import SearchSpace

__all__ = ["ORIGINAL_WIDTHS", "SAME", "SD_V1_4", "WIDTHS", "sd_unet"]

#: ``block_out_channels`` of SD v1.4's U-Net, one per searchable width (stages s1 to s4).
ORIGINAL_WIDTHS = (320, 640, 1280, 1280)
#: Width multipliers of every stage: 0.6, 0.8 and 1.0 (all widths are multiples of 64).
_MULTIPLIERS = (3, 4, 5)  # fifths
#: Allowed channel widths per stage (the mid block takes stage 4's).
WIDTHS: dict[str, tuple[int, ...]] = {
    f"s{i + 1}": tuple(c * m // 5 for m in _MULTIPLIERS) for i, c in enumerate(ORIGINAL_WIDTHS)
}
#: ``channels`` value of every layer but a stage's first: the stage's width.
SAME = "same"

_RES = "resnet"
_ATT = "attention"
# (stage, max_layers, ops after the first layer); every stage keeps at least its first layer.
_STAGES: tuple[tuple[str, int, tuple[str, ...]], ...] = (
    ("s1", 2, (_RES,)),  # 64²: no attention
    ("s2", 4, (_RES, _ATT)),
    ("s3", 4, (_RES, _ATT)),
    ("s4", 2, (_RES, _ATT)),
    ("mid", 3, (_RES, _ATT)),
)


def _layer(op: str, channels: int | str = SAME) -> dict[str, Any]:
    return {"op": op, "channels": channels}


#: The original SD v1.4 U-Net in the space's JSON form (its 64² attention is not represented;
#: see the module docstring).
SD_V1_4: list[list[dict[str, Any]]] = [
    [_layer(_RES, 320), _layer(_RES)],
    [_layer(_RES, 640), _layer(_ATT), _layer(_RES), _layer(_ATT)],
    [_layer(_RES, 1280), _layer(_ATT), _layer(_RES), _layer(_ATT)],
    [_layer(_RES, 1280), _layer(_RES)],
    [_layer(_RES), _layer(_ATT), _layer(_RES)],
]


def sd_unet() -> SearchSpace:
    """SD v1.4 U-Net variants: 4 units of resnet/attention layers, 765,450 architectures.

    Stages ``s1``-``s4`` are the 64², 32², 16² and 8² levels (down block and mirrored up
    block), ``mid`` the mid block, scored with ``s4`` as one unit. Each stage's first layer
    is a resnet that sets the stage's width (``channels``, 0.6/0.8/1.0 x SD v1.4's); the
    other layers are ``"resnet"`` or ``"attention"`` (``s1``: resnet only) with ``channels``
    ``"same"``. See the module docstring for the mapping onto the real U-Net.
    """
    stages = []
    for name, max_layers, ops in _STAGES:
        first_channels: list[int | str] = list(WIDTHS[name]) if name in WIDTHS else [SAME]
        stages.append(
            {
                "name": name,
                "min_layers": 1,
                "max_layers": max_layers,
                "layer": {"op": list(ops), "channels": [SAME]},
                "first_layer": {"op": [_RES], "channels": first_channels},
            }
        )
    return SearchSpace.from_dict(
        {
            "name": "sd-unet",
            "description": (
                "Stable Diffusion v1.4 U-Net variants (AutoBuild Sec. 5.3): 4 levels, "
                "resnet/attention layers on or off, 3 widths per stage, no attention at 64x64"
            ),
            "stage": stages,
            "units": [["s1"], ["s2"], ["s3"], ["s4", "mid"]],
        }
    )
