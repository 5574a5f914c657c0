"""Jupyter display of probe and explainPrediction results (protocol/probe.md and
protocol/explain.md): unit bars, heatmaps, patches and tables."""
import base64
import os

import numpy as np

from . import display
from .results import Result, drawn_from_numpy, render_generic


def file_image(path, title):
    """A PNG the daemon wrote (inside the root, on this machine), embedded as a data URI."""
    try:
        with open(path, "rb") as f:
            data = base64.b64encode(f.read()).decode("ascii")
    except OSError:
        return ""
    return (f'<figure class="advlens-panel" style="margin:0 6px;text-align:center">'
            f'<img class="advlens-image advlens-file" alt="{display.esc(title)}" src="data:image/png;base64,{data}" '
            f'style="image-rendering:pixelated;border:1px solid #ccc"/>'
            f'<figcaption style="font-size:11px">{display.esc(title)}</figcaption></figure>')


def unit_name(neuron, unit_kind):
    name = f"{'channel' if unit_kind == 'channels' else 'unit'} {neuron['unit']}"
    concept = neuron.get("concept")
    if isinstance(concept, dict) and concept.get("label"):
        name += f" ({concept['label']})"
    return name


class ExplainResult(Result):
    @drawn_from_numpy
    def _repr_html_(self):
        if "explanations" in self:  # a batch: each image's explanation in turn
            return "".join(f'<div class="advlens-batch-item"><h4>image {i}</h4>{ExplainResult(e, self._client)._repr_html_()}</div>'
                           for i, e in enumerate(self["explanations"]))
        parts = []
        if "summary" in self:
            parts.append(f'<p class="advlens-explain-summary">{display.esc(self["summary"])}</p>')
        p = self.get("prediction", {})
        pairs = [(k, p[k]) for k in ("predictedName", "confidence", "className", "probability", "logit", "label") if k in p]
        if pairs:
            parts.append(display.key_values(pairs, "prediction"))
        if p.get("top"):
            parts.append(display.table(p["top"], ["index", "name", "probability", "logit"], title="top classes"))
        for layer in self.get("layers", []):
            measure = layer.get("rankedBy", "logitDrop")
            neurons = layer.get("neurons", [])
            items = [(unit_name(n, layer.get("unitKind")), float(n[measure])) for n in neurons if measure in n]
            title = f"layer {layer['layer']}: {layer.get('unitCount', '?')} {layer.get('unitKind', 'units')}, by {measure}"
            if items:
                parts.append(display.bars(items, title))
            parts.append(display.table([{k: v for k, v in n.items() if k not in ("exemplars",)} for n in neurons]))
        panels, files = [], []
        for method, m in (self.get("maps") or {}).items():
            if not isinstance(m, dict):
                continue
            tensor = m.get("tensor")
            if isinstance(tensor, np.ndarray) and tensor.ndim >= 2:
                kind = "signed" if float(tensor.min()) < 0 else "heat"
                panels.append((method, tensor, kind))
            if isinstance(m.get("png"), str):
                files.append(file_image(m["png"], os.path.basename(m["png"])))
        if panels:
            scale = max(1, 112 // max(panels[0][1].shape[-1], 1))
            parts.append(display.image_row(panels, "maps (red: for the class, blue: against)", scale=scale))
        if files:
            parts.append(f'<div style="display:flex">{"".join(files)}</div>')
        comparison = self.get("comparison")
        if isinstance(comparison, dict):
            if comparison.get("summary"):
                summary = comparison["summary"]
                text = " ".join(summary) if isinstance(summary, list) else str(summary)
                parts.append(f'<p class="advlens-comparison">{display.esc(text)}</p>')
            for layer in comparison.get("layers", []):
                pushed = layer.get("pushedToward", [])
                if pushed:
                    parts.append(display.bars([(unit_name(n, layer.get("unitKind")), float(n["change"])) for n in pushed],
                                              f"layer {layer['layer']}: pushed toward the class ({layer.get('measure', '')} change)"))
        return f'<div class="advlens-result advlens-explain">{"".join(parts)}</div>'


class ProbeResult(Result):
    @drawn_from_numpy
    def _repr_html_(self):
        head = [(k, self[k]) for k in ("kind", "model", "layer", "layerShape", "reduction", "k", "count",
                                       "adversarialHandle", "adversarialCount", "elapsedMs") if k in self]
        parts = [display.key_values(head)]
        kind = self.get("kind")
        if kind == "topActivations":
            for entry in self.get("top", [])[:16]:
                images = [file_image(t["patch"], f"#{t['index']} label {t.get('label', '-')}: {t['value']:.3g}")
                          for t in entry["top"] if isinstance(t.get("patch"), str)]
                if any(images):
                    parts.append(f'<div class="advlens-row"><div style="font-size:12px">unit {entry["unit"]}</div>'
                                 f'<div style="display:flex">{"".join(images)}</div></div>')
                else:
                    parts.append(display.table(entry["top"], ["index", "label", "value", "y", "x"], title=f"unit {entry['unit']}"))
        elif kind in ("classHistograms", "consistency"):
            rows = self.get("histograms", [])
            measure = "cs1" if rows and "cs1" in rows[0] else "lc"
            parts.append(display.bars([(f"unit {r['unit']}", float(r[measure])) for r in rows[:32]], f"{measure} per unit"))
            parts.append(display.table([{k: r[k] for k in ("unit", "cs1", "cs2", "lc") if k in r} |
                                        {"top real class": int(np.argmax(r["pReal"])) if r.get("pReal") else ""}
                                        for r in rows]))
            if "consistencySummary" in self:
                parts.append(display.key_values(self["consistencySummary"].items(), "consistency"))
        elif kind == "representation":
            rep = dict(self.get("representation", {}))
            parts.append(display.key_values([(k, v) for k, v in rep.items() if not isinstance(v, (list, dict))], "r(x*)"))
            edges, counts = rep.get("histogramEdges", []), rep.get("histogramCounts", [])
            if counts:
                parts.append(display.bars([(f"{edges[i]:.3g}–{edges[i + 1]:.3g}", float(c)) for i, c in enumerate(counts)],
                                          "histogram of r"))
            if rep.get("samples"):
                parts.append(display.table(rep["samples"], title="samples"))
        elif kind == "dissect":
            d = self.get("dissection", {})
            for which in ("real", "adversarial"):
                report = d.get(which)
                if not report:
                    continue
                units = report.get("units", [])
                parts.append(display.bars([(f"unit {u['unit']} {u.get('label', '')}", float(u["iou"])) for u in units[:32]],
                                          f"{which}: IoU of each unit's best concept ({report.get('detectors', 0)} detectors)"))
                parts.append(display.table(units, ["unit", "label", "conceptKind", "iou", "detector", "threshold"]))
        elif kind == "activations":
            act = self.get("activations", {})
            units, values = act.get("units", []), act.get("values", [])
            rows = []
            for i, row in enumerate(values):
                r = {"index": act.get("indices", [None] * len(values))[i] if act.get("indices") else i}
                if act.get("labels"):
                    r["label"] = act["labels"][i]
                r.update({f"u{u}": v for u, v in list(zip(units, row))[:12]})
                rows.append(r)
            if rows:
                parts.append(display.table(rows))
            if isinstance(act.get("maps"), np.ndarray):
                parts.append(render_generic({"maps": act["maps"][:, 0] if act["maps"].ndim == 4 else act["maps"]}))
        else:
            parts.append(render_generic({k: v for k, v in self.items() if k not in dict(head)}))
        return f'<div class="advlens-result advlens-probe">{"".join(parts)}</div>'
