#!/usr/bin/env python3
"""Writes the example TorchScript models of docs/models.md (no downloaded weights): run with
Debian's python3-torch as  /usr/bin/python3 scripts/make_example_models.py OUT_DIR

  resnet_traced.pt, resnet_scripted.pt  a small ResNet (3 x 40 x 40 input, 7 classes): a stem,
      two residual stages with nested BasicBlocks (skip connections, a strided stage with a
      1x1 downsample), global average pooling and a classifier; the same weights exported with
      torch.jit.trace and with torch.jit.script.
  planted_traced.pt  a 1 x 28 x 28, 10-class network whose nested convolution features.0.conv
      has two planted 5 x 5 filters (an oriented edge and a centre-surround spot): the STA of
      its units must give them back.
"""
import math
import sys

import torch
from torch import nn


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with batch norm and a skip connection (He et al.'s ResNet block).
    One ReLU module serves both activations, as in torchvision: it cannot be probed (forward
    calls it twice), its inputs and the convolutions can."""

    def __init__(self, inputs, outputs, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(inputs, outputs, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(outputs)
        self.conv2 = nn.Conv2d(outputs, outputs, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(outputs)
        self.relu = nn.ReLU()
        self.downsample = nn.Identity()
        if stride != 1 or inputs != outputs:
            self.downsample = nn.Sequential(nn.Conv2d(inputs, outputs, 1, stride=stride, bias=False),
                                            nn.BatchNorm2d(outputs))

    def forward(self, x):
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return self.relu(y + self.downsample(x))


class SmallResNet(nn.Module):
    def __init__(self, classes=7):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU())
        self.layer1 = nn.Sequential(BasicBlock(8, 8))
        self.layer2 = nn.Sequential(BasicBlock(8, 16, stride=2))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(16, classes)

    def forward(self, x):
        return self.fc(self.flatten(self.pool(self.layer2(self.layer1(self.stem(x))))))


class Planted(nn.Module):
    def __init__(self):
        super().__init__()
        block = nn.Module()
        block.conv = nn.Conv2d(1, 2, 5)
        block.relu = nn.ReLU()
        self.features = nn.ModuleList([block])
        self.head = nn.Sequential(nn.MaxPool2d(2), nn.Flatten(), nn.Linear(2 * 12 * 12, 10))

    def forward(self, x):
        block = self.features[0]
        return self.head(block.relu(block.conv(x)))


def planted_filters():
    """An oriented edge and a centre-surround spot, 5 x 5, unit norm."""
    edge = torch.tensor([[math.cos(0.6) * (c - 2) + math.sin(0.6) * (r - 2) for c in range(5)] for r in range(5)])
    spot = torch.tensor([[math.exp(-((r - 2) ** 2 + (c - 2) ** 2) / 1.5) - 0.25 for c in range(5)] for r in range(5)])
    return torch.stack([edge / edge.norm(), spot / spot.norm()]).unsqueeze(1)


def main(out):
    torch.manual_seed(0)
    resnet = SmallResNet().eval()
    with torch.no_grad():  # batch statistics other than 0 and 1, so that batch norm does something
        for module in resnet.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.running_mean.uniform_(-0.2, 0.2)
                module.running_var.uniform_(0.5, 1.5)
    example = torch.rand(2, 3, 40, 40)
    torch.jit.trace(resnet, example).save(f"{out}/resnet_traced.pt")
    torch.jit.script(resnet).save(f"{out}/resnet_scripted.pt")

    planted = Planted().eval()
    with torch.no_grad():
        planted.features[0].conv.weight.copy_(planted_filters())
        planted.features[0].conv.bias.zero_()
    torch.jit.trace(planted, torch.rand(2, 1, 28, 28)).save(f"{out}/planted_traced.pt")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else ".")
