"""Makes the committed ONNX fixtures of Tests/python/fixtures/onnx/ with PyTorch (never run by
`make test`; the tests read the files it writes).

    PYTHONPATH=.venv/lib/python3.11/site-packages <python with torch, torchvision> scripts/make_onnx_fixtures.py

(torch.onnx.export needs the `onnx` package; the project's .venv has it.) For each network:
`<name>.onnx`, exported with torch.onnx.export (opset 17, a dynamic batch axis), and
`<name>.reference.npz` with 4 seeded inputs in [0, 1], torch's logits for them, and the input
gradient of each input's logit of class `target` (d logits[i, target[i]] / d x[i]).

- small_cnn: Conv-BN-ReLU stem, a ResNet basic block (its BatchNorms kept by exporting in
  training-preserving mode without constant folding, so their names and buffers survive),
  MaxPool, global average pool, x.view(x.size(0), -1) (a Shape/Gather/Unsqueeze/Concat/Reshape
  subgraph), Linear.
- mobilenet_block: torchvision's own MobileNetV2 InvertedResidual blocks and a MobileNetV3-style
  squeeze-excitation (torchvision.ops.SqueezeExcitation with Hardsigmoid), Hardswish, dropout
  and a classifier, exported as users do (eval mode, BatchNorm folded into the convolutions).
- vit_<exporter><opset>: torchvision's VisionTransformer(image_size=32, patch_size=8,
  num_layers=2, num_heads=2, hidden_dim=32, mlp_dim=64, num_classes=10), its LayerNorms, biases,
  class token and zero-initialised head drawn anew (fresh LayerNorms and zero biases are equal
  tensors, which the exporters would merge; a zero head makes the logits constant),
  exported by both of torch 2.15's exporters, whose nn.MultiheadAttention graphs differ:
  `vit_torchscript17`/`18` (dynamo=False) and `vit_dynamo17`/`18` (the default exporter; it
  needs the `onnxscript` package, e.g. `pip install --target DIR onnxscript onnx_ir` and DIR
  on PYTHONPATH). One `vit.reference.npz` serves all four.
"""
import pathlib

import numpy as np
import torch
import torch.nn as nn
from torchvision.models.mobilenetv2 import InvertedResidual
from torchvision.ops.misc import SqueezeExcitation

OUT = pathlib.Path(__file__).resolve().parents[1] / "Tests/python/fixtures/onnx"


class BasicBlock(nn.Module):
    """torchvision's ResNet BasicBlock at reduced width (stride 1, identity shortcut)."""

    def __init__(self, c):
        super().__init__()
        self.conv1 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c)

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + x)


class SmallCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.relu = nn.ReLU(inplace=True)
        self.layer1 = nn.Sequential(BasicBlock(8))
        self.maxpool = nn.MaxPool2d(2)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(8, 10)

    def forward(self, x):
        x = self.maxpool(self.layer1(self.relu(self.bn1(self.conv1(x)))))
        x = self.avgpool(x)
        return self.fc(x.view(x.size(0), -1))


class MobileNetBlocks(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 8, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(8), nn.Hardswish(),
            InvertedResidual(8, 8, stride=1, expand_ratio=2),
            InvertedResidual(8, 12, stride=2, expand_ratio=3),
            SqueezeExcitation(12, 4, scale_activation=nn.Hardsigmoid),
        )
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Linear(12, 16), nn.Hardswish(), nn.Dropout(0.2), nn.Linear(16, 10))

    def forward(self, x):
        return self.classifier(torch.flatten(self.pool(self.features(x)), 1))


def randomise_bn(model, g):
    """Trained-looking BatchNorm statistics and affine values (fresh ones are 0/1, and equal
    initializers would be merged by the exporter)."""
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            with torch.no_grad():
                m.weight.copy_(1 + 0.2 * torch.randn(m.num_features, generator=g))
                m.bias.copy_(0.1 * torch.randn(m.num_features, generator=g))
                m.running_mean.copy_(0.1 * torch.randn(m.num_features, generator=g))
                m.running_var.copy_(0.5 + torch.rand(m.num_features, generator=g))


def export(name, model, shape, preserve_bn):
    g = torch.Generator().manual_seed(0)
    randomise_bn(model, g)
    model.eval()
    x = torch.rand((4,) + shape, generator=g)
    kwargs = dict(training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False) if preserve_bn else {}
    torch.onnx.export(model, x[:1], str(OUT / f"{name}.onnx"), dynamo=False, opset_version=17,
                      input_names=["x"], output_names=["logits"],
                      dynamic_axes={"x": {0: "batch"}, "logits": {0: "batch"}}, **kwargs)
    x.requires_grad_(True)
    logits = model(x)
    target = logits.argmin(dim=1)
    logits.gather(1, target[:, None]).sum().backward()
    np.savez(OUT / f"{name}.reference.npz", inputs=x.detach().numpy(), logits=logits.detach().numpy(),
             target=target.numpy(), input_gradient=x.grad.numpy())
    print(f"{name}: {(OUT / f'{name}.onnx').stat().st_size} bytes")


def reference(name, model, x):
    x = x.clone().requires_grad_(True)
    logits = model(x)
    target = logits.argmin(dim=1)
    logits.gather(1, target[:, None]).sum().backward()
    np.savez(OUT / f"{name}.reference.npz", inputs=x.detach().numpy(), logits=logits.detach().numpy(),
             target=target.numpy(), input_gradient=x.grad.numpy())


def export_vit():
    from torchvision.models.vision_transformer import VisionTransformer
    g = torch.Generator().manual_seed(1)
    model = VisionTransformer(image_size=32, patch_size=8, num_layers=2, num_heads=2, hidden_dim=32, mlp_dim=64, num_classes=10)
    with torch.no_grad():
        for key, p in model.named_parameters():
            if key.endswith("ln_1.weight") or key.endswith("ln_2.weight") or key == "encoder.ln.weight":
                p.copy_(1 + 0.2 * torch.randn(p.shape, generator=g))
            elif p.dim() == 1 or key == "class_token" or bool((p == 0).all()):  # heads.head.weight starts at 0
                p.copy_(0.2 * torch.randn(p.shape, generator=g))
    model.eval()
    x = torch.rand((4, 3, 32, 32), generator=g)
    for dynamo in (False, True):
        for opset in (17, 18):
            name = f"vit_{'dynamo' if dynamo else 'torchscript'}{opset}"
            kwargs = dict(dynamic_shapes=({0: torch.export.Dim("batch")},), external_data=False) if dynamo else \
                dict(dynamic_axes={"x": {0: "batch"}, "logits": {0: "batch"}})
            torch.onnx.export(model, (x[:2],), str(OUT / f"{name}.onnx"), dynamo=dynamo, opset_version=opset,
                              input_names=["x"], output_names=["logits"], **kwargs)
            print(f"{name}: {(OUT / f'{name}.onnx').stat().st_size} bytes")
    reference("vit", model, x)


def main():
    torch.manual_seed(0)
    OUT.mkdir(parents=True, exist_ok=True)
    export("small_cnn", SmallCNN(), (3, 16, 16), preserve_bn=True)
    export("mobilenet_block", MobileNetBlocks(), (3, 32, 32), preserve_bn=False)
    export_vit()


if __name__ == "__main__":
    main()
