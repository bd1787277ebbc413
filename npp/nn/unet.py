"""The U-Net branch of NPP (official `UNet.py` layout) with QP-adaptive scales.

Channels [32, 64, 128, 256, 512] times `width`; four down stages (two 3x3 conv+BN+ReLU, kept
as the skip, then a stride-2 3x3 conv+BN+ReLU) and four up stages (two 3x3 conv+BN+ReLU to
twice the output width, a 2x upsampling to the output width + BN + ReLU, concatenated with
the skip). `upsample="transpose"` is the official ConvTranspose2d(k3, s2); the default
`"resize"` (nearest 2x then a 3x3 conv) has the same parameter count and leaves no
checkerboard texture. The head's last 1x1 conv has no ReLU (unlike the official code) so
the branch can remove as well as add detail, and it starts near zero."""
from __future__ import annotations

from typing import List, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from npp.nn.qa import QAScale

BASE_CHANNELS = (32, 64, 128, 256, 512)
DEPTH = 4


def receptive_radius() -> int:
    """How many input pixels to either side of an output pixel the U-Net can see (137): the
    reach of the deepest path, derived layer by layer as `UNet.forward` runs.

    Following the input span [lo, hi] an output span depends on, backwards: a 3x3 convolution
    widens it by one at its own scale; a stride-2 3x3 convolution maps span [a, b] of its output
    to [2a - 1, 2b + 1] of its input; an up stage (nearest 2x, then a 3x3 convolution; the
    official transposed convolution reaches no further) maps [a, b] to [(a - 1) // 2, (b + 1) // 2]
    one scale down; a concatenation takes the union of its two branches. The worst of the 16
    output positions a scale-16 grid allows is 137 pixels to the left (122 to the right): the
    same for every width and for both upsampling modes."""

    def convs(span: Tuple[int, int]) -> Tuple[int, int]:  # two 3x3 convolutions at one scale
        return span[0] - 2, span[1] + 2

    def down(stage: int, span: Tuple[int, int]) -> Tuple[int, int]:  # input span of stage's convs output
        span = convs(span)
        return span if stage == 0 else down(stage - 1, (2 * span[0] - 1, 2 * span[1] + 1))

    def up(stage: int, span: Tuple[int, int]) -> Tuple[int, int]:  # input span of the concat at `stage`
        inner = convs(((span[0] - 1) // 2, (span[1] + 1) // 2))
        deep = down(DEPTH - 1, (2 * inner[0] - 1, 2 * inner[1] + 1)) if stage == DEPTH - 1 else up(stage + 1, inner)
        skip = down(stage, span)
        return min(deep[0], skip[0]), max(deep[1], skip[1])

    reach = 0
    for x in range(2 ** DEPTH, 2 * 2 ** DEPTH):  # every position on the coarsest grid
        lo, hi = up(0, convs((x, x)))  # the head's two 3x3 convolutions, then the up path
        reach = max(reach, x - lo, hi - x)
    return reach


def conv_bn_relu(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride=stride, padding=1), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)
    )


class Up2(nn.Module):
    """2x upsampling to `cout` channels: transposed conv (official) or resize + conv."""

    def __init__(self, cin: int, cout: int, mode: str) -> None:
        super().__init__()
        self.mode = mode
        if mode == "transpose":
            self.conv = nn.ConvTranspose2d(cin, cout, 3, stride=2, padding=1, output_padding=1)
        elif mode == "resize":
            self.conv = nn.Conv2d(cin, cout, 3, padding=1)
        else:
            raise ValueError(f"upsample must be 'transpose' or 'resize', got {mode!r}")
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.mode == "resize":
            x = F.interpolate(x, scale_factor=2.0, mode="nearest")
        return torch.relu(self.bn(self.conv(x)))


class UNet(nn.Module):
    """`in_channels` is 3 (RGB) or 4 (RGB and a saliency map). `forward` also returns the
    features of the deepest stage (1/16 of the input's size, one vector per 16x16 block),
    where NPP's QP-map head reads."""

    def __init__(self, width: float = 1.0, upsample: str = "resize", qa_hidden: int = 64, in_channels: int = 3) -> None:
        super().__init__()
        c = [max(4, int(round(ch * width))) for ch in BASE_CHANNELS]
        self.channels = c
        self.down = nn.ModuleList()
        cin = in_channels
        for i in range(DEPTH):
            self.down.append(
                nn.ModuleDict(
                    {
                        "convs": nn.Sequential(conv_bn_relu(cin, c[i]), conv_bn_relu(c[i], c[i])),
                        "pool": conv_bn_relu(c[i], c[i], stride=2),
                    }
                )
            )
            cin = c[i]
        self.up = nn.ModuleList()
        for i in (3, 2, 1, 0):
            self.up.append(
                nn.ModuleDict(
                    {
                        "convs": nn.Sequential(conv_bn_relu(cin, 2 * c[i]), conv_bn_relu(2 * c[i], 2 * c[i])),
                        "up": Up2(2 * c[i], c[i], upsample),
                    }
                )
            )
            cin = 2 * c[i]
        self.head = nn.Sequential(conv_bn_relu(cin, c[0]), conv_bn_relu(c[0], c[0]))
        self.out = nn.Conv2d(c[0], 3, 1)
        nn.init.normal_(self.out.weight, std=1e-3)
        nn.init.zeros_(self.out.bias)
        # QA scales on the inputs of down stages 2-4 and the outputs of up stages 2-4.
        self.qa_down = nn.ModuleList(QAScale(c[i - 1], qa_hidden) for i in (1, 2, 3))
        self.qa_up = nn.ModuleList(QAScale(2 * c[i], qa_hidden) for i in (2, 1, 0))

    def forward(self, x: torch.Tensor, q: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        skips: List[torch.Tensor] = []
        deepest = x
        for i, stage in enumerate(self.down):
            if i > 0:
                x = x * self.qa_down[i - 1](q)
            x = stage["convs"](x)
            skips.append(x)
            x = stage["pool"](x)
        for i, stage in enumerate(self.up):
            x = stage["convs"](x)
            if i == 0:
                deepest = x
            x = stage["up"](x)
            x = torch.cat([x, skips.pop()], dim=1)
            if i > 0:
                x = x * self.qa_up[i - 1](q)
        return self.out(self.head(x)), deepest
