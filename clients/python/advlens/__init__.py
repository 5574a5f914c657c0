"""AdvLens from Python and Jupyter: a thin client of the advlensd daemon."""
from .client import Client, KNOWN_METHODS
from .errors import AdvLensError, ConnectionClosed, RequestCancelled
from .handles import Handle
from .params import dataset
from .results import AttackResult, PredictResult, Result
from .tensors import decode_tensor, encode_tensor
from .torch_export import export_torch, from_torch

__all__ = ["Client", "KNOWN_METHODS", "AdvLensError", "ConnectionClosed", "RequestCancelled", "Handle",
           "dataset", "Result", "AttackResult", "PredictResult", "encode_tensor", "decode_tensor", "from_torch", "export_torch"]
__version__ = "0.1.0"
