"""Results as dicts with attribute access and a Jupyter display (_repr_html_)."""
import numpy as np

from . import display
from .tensors import contains_torch, numpy_tree

BAR_VALUES = ("influence", "score", "contribution", "activation", "value", "weight", "iou", "cs1", "lc")
BAR_LABELS = ("unit", "neuron", "label", "concept", "name", "index", "class")


def drawn_from_numpy(render):
    """Wraps a _repr_html_: a result holding torch tensors (the request sent torch) is drawn from
    a numpy copy, so the drawing code knows one kind of array."""
    def wrapper(self, *args, **kwargs):
        if contains_torch(self):
            self = type(self)(numpy_tree(self), self._client)
        return render(self, *args, **kwargs)
    wrapper.__name__ = render.__name__
    return wrapper


class Result(dict):
    """A decoded result: `r["summary"]` or `r.summary`; snake_case works too (`r.success_rate`)."""

    def __init__(self, value, client=None):
        super().__init__(value)
        self._client = client

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        if name in self:
            return self[name]
        from .params import camel
        if camel(name) in self:
            return self[camel(name)]
        raise AttributeError(name)

    @drawn_from_numpy
    def _repr_html_(self):
        return f'<div class="advlens-result">{render_generic(self)}</div>'


def is_image(value):
    return isinstance(value, np.ndarray) and value.ndim >= 2 and min(value.shape[-2:]) >= 2


def image_kind(key, array):
    if key in ("images", "image", "input", "inputs", "original", "adversarial"):
        return "image"
    return "signed" if float(np.min(array)) < 0 else "heat"


def split_images(key, array, limit=8):
    """One panel per image of an array [N,C,H,W], [C,H,W] or [H,W]."""
    if array.ndim == 4:
        return [(f"{key}[{i}]", array[i], image_kind(key, array)) for i in range(min(limit, array.shape[0]))]
    return [(key, array, image_kind(key, array))]


def bar_items(rows):
    if not rows or not all(isinstance(r, dict) for r in rows):
        return None
    value_key = next((k for k in BAR_VALUES if all(isinstance(r.get(k), (int, float)) and not isinstance(r.get(k), bool) for r in rows)), None)
    if value_key is None:
        return None
    label_key = next((k for k in BAR_LABELS if k != value_key and all(k in r for r in rows)), None)
    return value_key, [(r[label_key] if label_key else i, float(r[value_key])) for i, r in enumerate(rows)]


def render_generic(result, title=None):
    scalars, panels, parts = [], [], []
    for key, value in result.items():
        if is_image(value):
            panels.extend(split_images(key, value))
        elif isinstance(value, dict) and any(is_image(v) for v in value.values()):
            for k, v in value.items():
                if is_image(v):
                    panels.extend(split_images(k, v))
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            found = bar_items(value[:24])
            if found:
                parts.append(display.bars(found[1], f"{key}: {found[0]}"))
            parts.append(display.table([{k: v for k, v in row.items() if not is_image(v)} for row in value], title=key))
            for i, row in enumerate(value[:4]):
                row_panels = [p for k, v in row.items() if is_image(v) for p in split_images(k, v)]
                if row_panels:
                    panels.extend((f"{key}[{i}].{t}", a, kind) for t, a, kind in row_panels)
        elif isinstance(value, dict):
            parts.append(display.key_values(value.items(), title=key))
        else:
            scalars.append((key, value))
    html = display.key_values(scalars, title) if scalars else ""
    if panels:
        html += display.image_row(panels[:12])
    return html + "".join(parts)


class PredictResult(Result):
    @drawn_from_numpy
    def _repr_html_(self):
        rows = []
        for i, p in enumerate(self["predictions"]):
            top = p.get("top", [])
            rows.append({"#": i, "label": p.get("label", "—"), "predicted": p.get("predictedName", p["predicted"]),
                         "confidence": top[0]["probability"] if top else "",
                         "top-k": ", ".join(f"{t['name']} {t['probability']:.1%}" for t in top)})
        summary = [("images", self["count"])]
        if "accuracy" in self:
            summary.append(("accuracy", self["accuracy"]))
        summary.append(("elapsed ms", self["elapsedMs"]))
        return f'<div class="advlens-result advlens-predict">{display.key_values(summary)}{display.table(rows)}</div>'


class AttackResult(Result):
    @property
    def originals(self):
        if "images" in self and "perturbations" in self:
            return self["images"] - self["perturbations"]
        return None

    @drawn_from_numpy
    def _repr_html_(self, limit=6):
        s = self["summary"]
        cfg = self["config"]
        summary = [("attack", f"{cfg['method']} on " + ", ".join(m["name"] for m in cfg["models"])),
                   ("handle", self["handle"]), ("success rate", s["successRate"]),
                   ("robust accuracy", s["robustAccuracy"]), ("clean accuracy", s["cleanAccuracy"]),
                   ("mean L-inf", s["meanLinf"]), ("mean L2", s["meanL2"]), ("stopped early", s["stoppedEarly"])]
        html = display.key_values(summary)
        originals = self.originals
        if originals is not None:
            for sample in self["samples"][:limit]:
                i = sample["index"]
                caption = (f"#{i}: label {sample['label']} → {sample['adversarialLabel']} "
                           f"({'fooled' if sample['success'] else 'held'}, L2 {sample['l2']:.3g})")
                html += display.image_row([("original", originals[i], "image"), ("adversarial", self["images"][i], "image"),
                                           ("perturbation", self["perturbations"][i], "signed")], caption)
        html += display.table(self["samples"], ["index", "label", "target", "adversarialLabel", "success",
                                                "linf", "l2", "confidence", "iterations"])
        if "transfer" in self:
            html += display.table(self["transfer"], title="transfer")
        return f'<div class="advlens-result advlens-attack">{html}</div>'


class HandleListResult(Result):
    @drawn_from_numpy
    def _repr_html_(self):
        rows = [{k: v for k, v in h.items() if k != "provenance"} for h in self["handles"]]
        return (f'<div class="advlens-result">{display.table(rows)}'
                f'{display.key_values([("total bytes", self["totalBytes"]), ("limit bytes", self["limitBytes"])])}</div>')


def result_class(method):
    from .interpret import ExplainResult, ProbeResult
    classes = {"predict": PredictResult, "attack": AttackResult, "handle/list": HandleListResult,
               "probe": ProbeResult, "explainPrediction": ExplainResult}
    return classes.get(method, Result)
