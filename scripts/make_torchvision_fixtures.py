"""Makes the committed references for `model/create`'s torchvision networks, with torch and
torchvision (never run by make test; the tests read what it writes, without torch):

- Tests/NNTests/Fixtures/graph/torchvision-state-dicts.json: every network's state_dict keys
  and shapes in torchvision's order (10 classes; vit at the sizes below), which NNTests
  compares with AdvLens's specs and the Python tests fill with seeded weights.
- Tests/python/fixtures/torchvision/<name>.json for the networks in LOGITS: the sizes and
  options, the seeds, and torch's logits for seeded images with the state_dict filled from a
  seeded numpy stream (Tests/python/graph_weights.py: the same values on both sides), so only
  seeds and results are committed, not the weights. For the networks in GRADIENTS also
  `<name>.gradients.npz`: d logits[i, target[i]] / d image[i] (the images before the
  normalisation, which stays inside the model).
- Tests/python/fixtures/torchvision/vgg/<name>.json for the networks in VGG, likewise, with
  the weights from graph_weights.formula_state_dict (one float32 stream per tensor: VGG's
  25088x4096 classifier is too large for the float64 stream the others use).

    <python with torch and torchvision> scripts/make_torchvision_fixtures.py [--vgg-only]
"""
import json
import pathlib
import sys

import numpy as np
import torch
import torchvision
from torchvision.models.vision_transformer import VisionTransformer

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "Tests/python"))
from graph_weights import formula_state_dict, seeded_images, seeded_state_dict  # noqa: E402

MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
M = torchvision.models
# The small Vision Transformer: model/create's vit options, and torchvision's class with them.
VIT = {"patchSize": 8, "numLayers": 2, "numHeads": 4, "hiddenDim": 32, "mlpDim": 64}


def vit(image_size=32):
    return VisionTransformer(image_size=image_size, patch_size=VIT["patchSize"], num_layers=VIT["numLayers"],
                             num_heads=VIT["numHeads"], hidden_dim=VIT["hiddenDim"], mlp_dim=VIT["mlpDim"], num_classes=10)


# name: (constructor with 10 classes, input side, model/create options beyond numClasses/inputSize)
NETWORKS = {
    "resnet18": (lambda: M.resnet18(num_classes=10), 32, {}),
    "resnet34": (lambda: M.resnet34(num_classes=10), 32, {}),
    "resnet50": (lambda: M.resnet50(num_classes=10), 32, {}),
    "vgg11": (lambda: M.vgg11(num_classes=10), 32, {}),
    "vgg11_bn": (lambda: M.vgg11_bn(num_classes=10), 32, {}),
    "vgg16": (lambda: M.vgg16(num_classes=10), 32, {}),
    "vgg16_bn": (lambda: M.vgg16_bn(num_classes=10), 32, {}),
    "alexnet": (lambda: M.alexnet(num_classes=10), 64, {}),
    "squeezenet1_1": (lambda: M.squeezenet1_1(num_classes=10), 32, {}),
    "densenet121": (lambda: M.densenet121(num_classes=10), 32, {}),
    "mobilenet_v2": (lambda: M.mobilenet_v2(num_classes=10), 32, {}),
    "mobilenet_v3_small": (lambda: M.mobilenet_v3_small(num_classes=10), 32, {}),
    "mobilenet_v3_large": (lambda: M.mobilenet_v3_large(num_classes=10), 32, {}),
    "efficientnet_b0": (lambda: M.efficientnet_b0(num_classes=10), 32, {}),
    "vit": (vit, 32, VIT),
}
# VGG's 25088x4096 classifier is too large for seeded_state_dict in a test: formula_state_dict.
LOGITS = [n for n in NETWORKS if not n.startswith("vgg")]
VGG = ["vgg11", "vgg16_bn"]
GRADIENTS = ["resnet50", "mobilenet_v2", "densenet121", "vit"]
IMAGES = 3


def write_listing(models):
    out = ROOT / "Tests/NNTests/Fixtures/graph/torchvision-state-dicts.json"
    lines = [f'  "{name}": [\n' + ",\n".join("    " + json.dumps([k, list(v.shape)]) for k, v in model.state_dict().items()) + "\n  ]"
             for name, model in models.items()]
    header = {"torchvision": torchvision.__version__, "numClasses": 10, "options": {"vit": VIT}}
    out.write_text(json.dumps(header)[:-1] + ', "networks": {\n' + ",\n".join(lines) + "\n}}\n")
    print(f"wrote {out}")


def write_reference(name, model, side, weights_of=seeded_state_dict, folder=""):
    shapes = [(k, tuple(v.shape)) for k, v in model.state_dict().items()]
    weights = weights_of(shapes, seed=11)
    model.load_state_dict({k: torch.from_numpy(v).reshape(dict(shapes)[k]) for k, v in weights.items()})
    model.eval()
    images = torch.from_numpy(seeded_images((IMAGES, 3, side, side), seed=12)).requires_grad_(name in GRADIENTS)
    mean, std = torch.tensor(MEAN).view(1, 3, 1, 1), torch.tensor(STD).view(1, 3, 1, 1)
    logits = model((images - mean) / std)
    targets = [int(t) for t in logits.argmax(1)]
    reference = {"torch": torch.__version__, "torchvision": torchvision.__version__, "architecture": name, "numClasses": 10,
                 "inputSize": [3, side, side], "options": NETWORKS[name][2], "weightsSeed": 11, "imagesSeed": 12,
                 "images": IMAGES, "logits": logits.detach().numpy().round(7).tolist()}
    if weights_of is not seeded_state_dict:
        reference["weights"] = weights_of.__name__
    spread = float(logits.detach().std())
    assert 0.05 < spread < 100, f"{name}: logits spread {spread}, too flat or too large to compare meaningfully"
    out = ROOT / "Tests/python/fixtures/torchvision" / folder / f"{name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    if name in GRADIENTS:
        picked = logits[torch.arange(IMAGES), torch.tensor(targets)].sum()
        (gradient,) = torch.autograd.grad(picked, images)
        reference["targets"] = targets
        np.savez_compressed(out.with_suffix(".gradients.npz"), input_gradient=gradient.numpy().astype(np.float32))
    out.write_text(json.dumps(reference) + "\n")
    print(f"wrote {out}: logits spread {spread:.3g}")


torch.manual_seed(0)
models = {name: make() for name, (make, _, _) in NETWORKS.items()}
if "--vgg-only" not in sys.argv:
    write_listing(models)
    for name in LOGITS:
        write_reference(name, models[name], NETWORKS[name][1])
for name in VGG:
    write_reference(name, models[name], NETWORKS[name][1], weights_of=formula_state_dict, folder="vgg")
