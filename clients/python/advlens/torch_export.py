"""PyTorch modules into the daemon: `from_torch` exports an nn.Module to ONNX with torch's own
exporter and loads the file with model/load {"onnx": ...}. torch stays optional: it is imported
only here, when called, and its absence is an ImportError that says what to install."""
import inspect
import os

OPSET = 17


def _torch():
    try:
        import torch
    except ImportError as e:
        raise ImportError("from_torch needs PyTorch (pip install torch); without it, export with torch.onnx.export "
                          "elsewhere and load the file with client.model_load(name, onnx=path)") from e
    return torch


def export_torch(module, example_input, path, opset=OPSET):
    """Writes `module` (in eval mode; its mode is restored after) as an ONNX file at `path`:
    opset 17, the weights inside, the batch dimension dynamic, input "input" and output "logits"
    (docs/onnx.md). `example_input` is one batch [N, C, H, W] of what the module takes."""
    torch = _torch()
    if not isinstance(module, torch.nn.Module):
        raise TypeError(f"from_torch: module: expected a torch.nn.Module, got {type(module).__name__}")
    if not isinstance(example_input, torch.Tensor) or example_input.dim() != 4:
        raise TypeError("from_torch: example_input: expected a tensor [N, C, H, W] of what the module takes")
    options = {"opset_version": opset, "input_names": ["input"], "output_names": ["logits"],
               "dynamic_axes": {"input": {0: "batch"}, "logits": {0: "batch"}}}
    accepted = inspect.signature(torch.onnx.export).parameters
    if "external_data" in accepted:
        options["external_data"] = False  # the daemon reads weights inside the file only
    if "dynamo" in accepted:
        options["dynamo"] = False  # the TorchScript exporter: no onnxscript needed, the forms docs/onnx.md lists
    training = module.training
    module.eval()
    try:
        with torch.no_grad():
            torch.onnx.export(module, (example_input,), os.fspath(path), **options)
    finally:
        module.train(training)
    return os.fspath(path)


def from_torch(module, example_input, path, client, name=None, **load_params):
    """Exports `module` to `path` (export_torch) and loads it in `client`'s daemon under `name`
    (default: the file's stem). `load_params` go to model/load: `mean`/`std` (the normalisation
    the module expects of its input, applied inside the daemon's model so attacks work in pixel
    space), `input_range`, `classes`. Returns model/load's summary."""
    written = export_torch(module, example_input, path)
    model_name = name or os.path.splitext(os.path.basename(written))[0]
    return client.call("model/load", name=model_name, onnx=os.path.abspath(written), **load_params)
