"""Jupyter display: inline PNGs that decode to the images sent, bars and tables."""
import base64
import re

import numpy as np

import advlens
from advlens import display
from pngread import decode_png


def images_in(html):
    return [decode_png(base64.b64decode(m)) for m in re.findall(r'src="data:image/png;base64,([^"]+)"', html)]


def test_png_round_trip():
    grey = (np.arange(12 * 7) % 256).astype(np.uint8).reshape(12, 7)
    assert (decode_png(display.png_bytes(grey))[:, :, 0] == grey).all()
    rgb = np.random.default_rng(0).integers(0, 256, (5, 9, 3), dtype=np.uint8)
    assert (decode_png(display.png_bytes(rgb)) == rgb).all()


def test_attack_shows_original_adversarial_and_perturbation(client):
    attack = client.attack("digits", "fgsm", advlens.dataset("mnist-test", [0, 2]), epsilon=0.2)
    html = attack._repr_html_()
    images = images_in(html)
    assert len(images) == 6  # two samples, three panels each
    original, adversarial, perturbation = images[:3]
    assert original.shape == (112, 112, 1) and perturbation.shape == (112, 112, 3)
    expected = np.clip(attack.originals[0, 0] * 255 + 0.5, 0, 255).astype(np.uint8)
    assert (original[::4, ::4, 0] == expected).all()
    expected_adv = np.clip(attack.images[0, 0] * 255 + 0.5, 0, 255).astype(np.uint8)
    assert (adversarial[::4, ::4, 0] == expected_adv).all()
    # Perturbation: red where positive, blue where negative, white at 0.
    signs = np.sign(attack.perturbations[0, 0])
    px = perturbation[::4, ::4]
    assert (px[signs > 0][:, 0] == 255).all() and (px[signs < 0][:, 2] == 255).all()
    assert "advlens-table" in html and f"label {attack.samples[0]['label']}" in html
    assert attack.handle in html


def test_predict_and_handle_list_tables(client):
    html = client.predict("digits", advlens.dataset("mnist-test", range(3)))._repr_html_()
    assert html.count("<tr>") >= 4 and "accuracy" in html
    assert "totalBytes" not in client.handle_list()._repr_html_()


def test_generic_results_draw_bars_maps_and_tables():
    result = advlens.Result({
        "prediction": 3,
        "neurons": [{"unit": 5, "influence": 0.8}, {"unit": 9, "influence": -0.3}],
        "maps": {"saliency": np.random.default_rng(1).random((28, 28), dtype=np.float32),
                 "gradCam": np.linspace(-1, 1, 28 * 28, dtype=np.float32).reshape(1, 28, 28)},
    })
    html = result._repr_html_()
    assert html.count('class="advlens-bar"') == 2 and "neurons: influence" in html
    maps = images_in(html)
    assert len(maps) == 2 and all(m.shape == (112, 112, 3) for m in maps)
    widths = re.findall(r'class="advlens-bar" style="[^"]*width:([0-9.]+)%', html)
    assert [float(w) for w in widths] == [100.0, 37.5]


def test_explanation_maps_at_the_image_size_over_the_image_with_a_colour_bar(client):
    # Issue 18, item 8: every map at the image's size (Grad-CAM's 8x8 grid upsampled, not a
    # small panel beside a large one), over the image with the map alone behind a toggle, in the
    # diverging red/blue of the legend (no black-red-yellow), each with its colour bar.
    e = client.explain_prediction("digits", advlens.dataset("mnist-test", [47]), methods=["saliency", "gradCam"])
    assert e.image.shape == (1, 28, 28)
    html = e._repr_html_()
    maps_html = html[html.index('class="advlens-row advlens-maps"'):]
    pictures = images_in(maps_html)
    assert len(pictures) == 4  # each map over the image, and alone
    assert len({p.shape for p in pictures}) == 1 and pictures[0].shape[:2] == (112, 112)
    assert maps_html.count("<details") == 2 and maps_html.count('class="advlens-colorbar"') == 2
    assert e.prediction["label"] == 7, "index 47 holds class 7: the split's default order interleaves the classes"
    assert f"red: for {e.prediction['class']}, blue: against" in maps_html and e.prediction["class"] == 7
    for p in pictures:
        yellow = (p[..., 0] > 200) & (p[..., 1] > 200) & (p[..., 2] < 80)
        red = (p[..., 0] > 200) & (p[..., 1] < 120) & (p[..., 2] < 120)
        assert not yellow.any() and red.any()


def test_concept_column_shows_label_score_and_a_histogram_bar(client):
    # Issue 18, item 9: the explanation's concept column reads as a concept, not a raw dict.
    e = client.explain_prediction("digits", advlens.dataset("mnist-test", [47]), methods=["influence"], top_neurons=3)
    html = e._repr_html_()
    concepts = [n["concept"] for layer in e.layers for n in layer["neurons"]]
    assert len(concepts) == 6 and all(c["method"] == "classHistogram" for c in concepts)
    assert html.count('class="advlens-concept"') == 6 and html.count('class="advlens-histogram"') == 6
    assert "histogram: [" not in html and "method: classHistogram" not in html
    first = concepts[0]
    assert f"<b>{first['label']}</b>" in html and f"classHistogram {first['score']:.2f}" in html
    # One bar per class, the tallest for the concept's label.
    cell = html[html.index('class="advlens-histogram"'):]
    cell = cell[:cell.index("</span></span>")]
    heights = [int(h) for h in re.findall(r"height:(\d+)px;background", cell)]
    assert len(heights) == 10 and heights.index(max(heights)) == int(first["label"])
