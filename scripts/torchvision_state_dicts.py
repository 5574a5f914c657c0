"""Writes Tests/NNTests/Fixtures/graph/torchvision-state-dicts.json: the state_dict keys and
shapes (in order) of the torchvision networks `model/create` builds, so NNTests can check
that AdvLens names every parameter and buffer exactly as torchvision does, without torch.

Needs torch and torchvision (never run by make test):
    <python with torch> scripts/torchvision_state_dicts.py
"""
import json
import pathlib

import torchvision

OUT = pathlib.Path(__file__).resolve().parents[1] / "Tests/NNTests/Fixtures/graph/torchvision-state-dicts.json"

NETWORKS = {
    "resnet18": lambda: torchvision.models.resnet18(num_classes=10),
    "vgg11": lambda: torchvision.models.vgg11(num_classes=10),
    "vgg11_bn": lambda: torchvision.models.vgg11_bn(num_classes=10),
    "vgg16": lambda: torchvision.models.vgg16(num_classes=10),
    "vgg16_bn": lambda: torchvision.models.vgg16_bn(num_classes=10),
}

result = {"torchvision": torchvision.__version__, "numClasses": 10, "networks": {}}
for name, make in NETWORKS.items():
    result["networks"][name] = [[k, list(v.shape)] for k, v in make().state_dict().items()]
lines = [f'  "{name}": [\n' + ",\n".join("    " + json.dumps(entry) for entry in entries) + "\n  ]"
         for name, entries in result["networks"].items()]
OUT.write_text('{"torchvision": %s, "numClasses": 10, "networks": {\n%s\n}}\n' % (json.dumps(result["torchvision"]), ",\n".join(lines)))
print(f"wrote {OUT}")
