"""The pictures the daemon writes, looked at pixel by pixel (issue 18, items 7 and 8): attack
strips captioned, the perturbation in the diverging red/blue map with a colour bar; heatmaps
with a colour bar and legend, over the image or alone, Grad-CAM at the image's size, file
names that say image, class and method."""
import os

import numpy as np

import advlens
from pngread import read_png


def reddish(p):
    return (p[..., 0] > 200) & (p[..., 1] < 120) & (p[..., 2] < 120)


def bluish(p):
    return (p[..., 2] > 200) & (p[..., 0] < 120) & (p[..., 1] < 120)


def ink(p):
    return (p[..., 0] < 80) & (p[..., 1] < 80) & (p[..., 2] < 80)


def colour_bar_rows(p):
    """Rows whose left end is blue and right end red, across at least half the width."""
    return [y for y in range(p.shape[0]) if any(bluish(p[y, x:x + 1])[0] for x in range(4, 12))
            and any(reddish(p[y, x:x + 1])[0] for x in range(p.shape[1] // 2, p.shape[1] - 2))]


def test_attack_strips_are_captioned_with_a_diverging_perturbation(client, tmp_path):
    scale = 4
    r = client.attack("digits", "pgd", advlens.dataset("mnist-test", [0, 47]), epsilon=0.3, steps=20, images=False,
                      return_={"png": str(tmp_path), "pngScale": scale})
    assert len(r.png) == 2
    panel = 28 * scale
    for path in r.png:
        p = read_png(path)
        assert p.shape[2] == 3, "RGB: the perturbation is drawn in colour"
        assert p.shape[0] > panel + 30, "caption lines below the panels"
        third = p.shape[1] // 3
        images, captions = p[:panel + 8], p[panel + 8:]
        # The perturbation panel (right third) is red where brightened and blue where darkened.
        assert reddish(images[:, 2 * third:]).sum() > 50 and bluish(images[:, 2 * third:]).sum() > 50
        # No red or blue in the digits themselves (grey images).
        assert reddish(images[:, :2 * third]).sum() == 0 and bluish(images[:, :2 * third]).sum() == 0
        # Text under each panel, and the colour bar under the perturbation.
        for k in range(3):
            assert ink(captions[:, k * third:(k + 1) * third]).sum() > 40, f"caption under panel {k}"
        assert colour_bar_rows(captions[:, 2 * third:]), "a blue-to-red colour bar"


def test_heatmaps_have_a_colour_bar_a_legend_and_say_what_they_show(client, tmp_path):
    e = client.explain_prediction("digits", advlens.dataset("mnist-test", [47]), methods=["saliency", "gradCam"],
                                  return_={"png": str(tmp_path / "over")})
    cls = e.prediction["class"]
    files = {m: e.maps[m]["png"] for m in ("saliency", "gradCam")}
    for method, path in files.items():
        assert os.path.basename(path) == f"explain-mnist-test-47-class{cls}-{method}.png"
    saliency, gradcam = read_png(files["saliency"]), read_png(files["gradCam"])
    assert saliency.shape == gradcam.shape, "Grad-CAM drawn at the image's size, like saliency"
    for p in (saliency, gradcam):
        assert colour_bar_rows(p), "a blue-to-red colour bar"
        assert ink(p[p.shape[0] * 3 // 4:]).sum() > 100, "scale labels and legend under the map"
    # Over the image: grey pixels where the map is small; alone: white there.
    alone = client.explain_prediction("digits", advlens.dataset("mnist-test", [47]), methods=["saliency"],
                                      return_={"png": str(tmp_path / "alone"), "overlay": False})
    a = read_png(alone.maps["saliency"]["png"])
    top = 8 * 28
    def grey(p):
        return ((np.abs(p[..., 0].astype(int) - p[..., 1]) < 8) & (np.abs(p[..., 1].astype(int) - p[..., 2]) < 8)
                & (p[..., 0] > 40) & (p[..., 0] < 215))
    assert grey(saliency[4:top]).sum() > grey(a[4:top]).sum() + 1000
