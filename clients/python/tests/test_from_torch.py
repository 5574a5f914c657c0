"""advlens.from_torch without PyTorch: importing the client never imports torch, and calling
from_torch where torch is missing says what to install and how to load an ONNX file instead.
(With torch installed, from_torch is torch.onnx.export then model/load {"onnx": ...}: the import
is tested in Tests/python/test_onnx_import.py on files torch exported.)"""
import importlib.util
import subprocess
import sys

import pytest

import advlens

HAS_TORCH = importlib.util.find_spec("torch") is not None


def test_importing_the_client_does_not_import_torch():
    code = "import sys, advlens; assert advlens.from_torch; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": ":".join(p for p in sys.path if p)})
    assert out.stdout.strip() == "False"


@pytest.mark.skipif(HAS_TORCH, reason="torch is installed here; the refusal is for environments without it")
def test_without_torch_from_torch_says_what_to_install(client, tmp_path):
    with pytest.raises(ImportError) as refused:
        advlens.from_torch(object(), None, tmp_path / "m.onnx", client)
    assert "pip install torch" in str(refused.value) and "onnx=path" in str(refused.value)
    with pytest.raises(ImportError):
        client.from_torch(object(), None, tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()
