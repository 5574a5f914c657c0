"""Writes Tests/python/fixtures/torchvision_resnet18.json: torchvision's resnet18 (10 classes,
3x32x32 inputs) with seeded weights and its logits on seeded images, for
Tests/python/test_graph_models.py, which fills the same weights (by state_dict key, from the
same numpy stream: `seeded_state_dict` there) into `model/create`'s resnet18 and compares,
without torch. Only the seeds and the results are committed, not the 45 MB of weights.

Needs torch and torchvision (never run by make test):
    <python with torch> scripts/make_torchvision_fixtures.py
"""
import json
import pathlib
import sys

import torch
import torchvision

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "Tests/python"))
from graph_weights import seeded_images, seeded_state_dict  # noqa: E402

MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]

torch.manual_seed(0)
model = torchvision.models.resnet18(num_classes=10).eval()
shapes = [(k, tuple(v.shape)) for k, v in model.state_dict().items()]
weights = seeded_state_dict(shapes, seed=11)
model.load_state_dict({k: torch.from_numpy(v).reshape(dict(shapes)[k]) for k, v in weights.items()})
images = torch.from_numpy(seeded_images((4, 3, 32, 32), seed=12))
mean, std = torch.tensor(MEAN).view(1, 3, 1, 1), torch.tensor(STD).view(1, 3, 1, 1)
with torch.no_grad():
    logits = model((images - mean) / std)
out = ROOT / "Tests/python/fixtures/torchvision_resnet18.json"
out.parent.mkdir(exist_ok=True)
out.write_text(json.dumps({"torch": torch.__version__, "torchvision": torchvision.__version__,
                           "weightsSeed": 11, "imagesSeed": 12, "logits": logits.numpy().round(7).tolist()}) + "\n")
print(f"wrote {out}")
