"""The channel between the trusted grader and the worker: length-prefixed frames of tagged JSON.

Only inert data crosses it: None, bool, int, float, str, bytes, lists, tuples, dicts and sets of
these, torch tensors and numpy arrays (as raw bytes), and handles (numbers naming an object that
stays in the worker). Decoding builds exactly those types from JSON, with no pickle and no eval,
so nothing the worker sends can run code in the trusted process or carry a custom `__eq__`.
"""
import base64
import functools
import json
import math
import os
import struct

MAX_FRAME_BYTES = 64 << 20
MAX_DEPTH = 64
_HEADER = struct.Struct(">I")


class WireError(Exception):
    """A frame that is malformed, too large, too deep, or cut off."""


class Handle:
    """An object that stays in the worker, named by a number; `kind` is its type's name, for messages."""
    __slots__ = ("number", "kind")

    def __init__(self, number: int, kind: str):
        self.number = number
        self.kind = kind


# encoding ------------------------------------------------------------------------------------

def encode(value, handle_of=None) -> bytes:
    """One frame. `handle_of(obj) -> Handle` turns what is not inert into a handle (worker side);
    without it, anything not inert is an error."""
    try:
        text = json.dumps(_to_json(value, handle_of, 0), separators=(",", ":"))
    except WireError:
        raise
    except Exception as error:  # a meta tensor, a huge integer, a learner's __eq__ or __iter__ that raises
        raise WireError(f"the value cannot be sent ({type(error).__name__}: {str(error)[:200]})") from None
    data = text.encode("utf-8")
    if len(data) > MAX_FRAME_BYTES:
        raise WireError(f"the value is too large to send ({len(data) >> 20} MiB; at most {MAX_FRAME_BYTES >> 20} MiB)")
    return _HEADER.pack(len(data)) + data


_SCALARS = frozenset({type(None), bool, int, float, str})


def _to_json(value, handle_of, depth):
    if depth > MAX_DEPTH:
        raise WireError(f"the value nests more than {MAX_DEPTH} levels deep")
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind is list:
        return value if _SCALARS.issuperset(map(type, value)) else [_to_json(v, handle_of, depth + 1) for v in value]
    if isinstance(value, tuple):  # torch.Size and named tuples too
        return {"~tuple": _to_json(list(tuple.__iter__(value)), handle_of, depth)}
    if isinstance(value, (bool, int, float, str)):  # a subclass arrives as its plain base type
        return next(base(value) for base in (bool, int, float, str) if isinstance(value, base))
    if isinstance(value, list):
        return _to_json(list(list.__iter__(value)), handle_of, depth)
    scalar = _numpy_scalar(value)
    if scalar is not None:
        return scalar
    if isinstance(value, dict):  # Counter, defaultdict, OrderedDict (a state_dict): sent as a dict
        return {"~dict": [[_to_json(k, handle_of, depth + 1), _to_json(v, handle_of, depth + 1)]
                          for k, v in dict.items(value)]}
    if kind in (set, frozenset):
        return {"~set": _to_json(list(value), handle_of, depth), "frozen": kind is frozenset}
    if kind is bytes:
        return {"~bytes": base64.b64encode(value).decode("ascii")}
    if kind is Handle:
        return {"~handle": value.number, "kind": value.kind}
    tensor = _tensor_to_json(value)
    if tensor is not None:
        return tensor
    if handle_of is None:
        raise WireError(f"a {kind.__name__} cannot be sent to the worker; send inert data or handles")
    return _to_json(handle_of(value), None, depth)


def _numpy_scalar(value):
    numpy = _loaded("numpy")
    if numpy is not None and isinstance(value, numpy.generic) and value.dtype.name in _NUMPY_DTYPES:
        return value.item() if value.dtype.kind in "biuf" else None
    return None


def _tensor_to_json(value):
    torch = _loaded("torch")
    if torch is not None and type(value) is torch.dtype:
        name = str(value).removeprefix("torch.")
        return {"~dtype": name} if name in _TORCH_DTYPE_NAMES else None
    if torch is not None and type(value) is torch.device:
        return {"~device": str(value)}
    if torch is not None and type(value) is torch.Tensor:
        tensor = value.detach().cpu().contiguous()
        if tensor.layout != torch.strided or tensor.is_quantized or \
                str(tensor.dtype).removeprefix("torch.") not in _TORCH_DTYPE_NAMES:
            return None
        return {"~tensor": str(tensor.dtype).removeprefix("torch."), "shape": list(tensor.shape),
                "data": base64.b64encode(_tensor_bytes(tensor)).decode("ascii"),
                "requires_grad": bool(value.requires_grad)}
    numpy = _loaded("numpy")
    if numpy is not None and type(value) is numpy.ndarray and value.dtype.name in _NUMPY_DTYPES:
        array = numpy.ascontiguousarray(value)
        return {"~array": array.dtype.name, "shape": list(array.shape),
                "data": base64.b64encode(array.tobytes()).decode("ascii")}
    return None


def _tensor_bytes(tensor) -> bytes:
    torch = _loaded("torch")
    if tensor.dtype == torch.bool:
        return tensor.to(torch.uint8).numpy().tobytes()
    if tensor.dtype == torch.bfloat16:
        return tensor.view(torch.int16).numpy().tobytes()
    return tensor.numpy().tobytes()


# decoding ------------------------------------------------------------------------------------

def decode(data: bytes):
    """The value of one frame's payload (without its header). JSON's own parser builds the lists,
    strings and numbers; each tagged object becomes its type as the parser meets it."""
    try:
        return json.loads(data.decode("utf-8"), object_hook=_from_tagged)
    except WireError:
        raise
    except (ValueError, TypeError, KeyError, RecursionError, OverflowError) as error:
        raise WireError(f"a malformed frame ({type(error).__name__})") from None


def _from_tagged(value: dict):
    if len(value) < 1:
        raise WireError("a malformed frame (an untagged object)")
    tag = next(iter(value))
    body = value[tag]
    if tag == "~tuple":
        return tuple(_list(body))
    if tag == "~dict":
        return {_key(k): v for k, v in map(_pair, _list(body))}
    if tag == "~set":
        items = {_key(v) for v in _list(body)}
        return frozenset(items) if value.get("frozen") is True else items
    if tag == "~bytes":
        return base64.b64decode(_str(body), validate=True)
    if tag == "~handle":
        if type(body) is not int:
            raise WireError("a malformed handle")
        return Handle(body, str(value.get("kind", "object"))[:100])
    if tag == "~tensor":
        return _tensor_from_json(value)
    if tag == "~dtype":
        if _str(body) not in _TORCH_DTYPE_NAMES:
            raise WireError("an unknown dtype")
        return _torch_dtypes()[body]
    if tag == "~device":
        import torch
        return torch.device(_str(body)[:20])
    if tag == "~array":
        return _array_from_json(value)
    raise WireError(f"a malformed frame (unknown tag {str(tag)[:20]!r})")


def _tensor_from_json(value):
    import torch
    dtype = _torch_dtypes().get(value["~tensor"])
    shape = _shape(value["shape"])
    if dtype is None:
        raise WireError("a tensor of an unknown dtype")
    raw = bytearray(base64.b64decode(_str(value["data"]), validate=True))
    storage_dtype = {torch.bool: torch.uint8, torch.bfloat16: torch.int16}.get(dtype, dtype)
    itemsize = torch.empty((), dtype=storage_dtype).element_size()
    if len(raw) != math.prod(shape) * itemsize:
        raise WireError("a tensor whose data does not match its shape")
    flat = torch.frombuffer(raw, dtype=storage_dtype) if raw else torch.empty(0, dtype=storage_dtype)
    tensor = flat.view(dtype) if dtype == torch.bfloat16 else flat.to(dtype)
    tensor = tensor.reshape(shape).clone()
    if value.get("requires_grad") is True and tensor.is_floating_point():
        tensor.requires_grad_(True)
    return tensor


def _array_from_json(value):
    import numpy
    name, shape = value["~array"], _shape(value["shape"])
    if name not in _NUMPY_DTYPES:
        raise WireError("an array of an unknown dtype")
    raw = base64.b64decode(_str(value["data"]), validate=True)
    if len(raw) != math.prod(shape) * numpy.dtype(name).itemsize:
        raise WireError("an array whose data does not match its shape")
    return numpy.frombuffer(raw, dtype=name).reshape(shape).copy()


def _list(body) -> list:
    if type(body) is not list:
        raise WireError("a malformed frame (expected a list)")
    return body


def _pair(body):
    if type(body) is not list or len(body) != 2:
        raise WireError("a malformed dict entry")
    return body


def _key(key):
    try:
        hash(key)
    except TypeError:
        raise WireError("an unhashable dict key or set item") from None
    return key


def _str(body) -> str:
    if type(body) is not str:
        raise WireError("a malformed frame (expected a string)")
    return body


def _shape(body) -> list[int]:
    if type(body) is not list or len(body) > 16 or not all(type(n) is int and 0 <= n < 1 << 40 for n in body):
        raise WireError("a malformed shape")
    return body


def _loaded(module: str):
    import sys
    return sys.modules.get(module)


_TORCH_DTYPE_NAMES = ("float64", "float32", "float16", "bfloat16", "int64", "int32", "int16", "int8",
                      "uint8", "bool", "complex64", "complex128")
_NUMPY_DTYPES = {"float64", "float32", "float16", "int64", "int32", "int16", "int8", "uint8", "uint16",
                 "uint32", "uint64", "bool", "complex64", "complex128"}


@functools.cache
def _torch_dtypes() -> dict:
    import torch
    return {name: getattr(torch, name) for name in _TORCH_DTYPE_NAMES}


# frames over file descriptors ----------------------------------------------------------------

def read_frame(fd: int, before_read=None) -> bytes:
    """The payload of the next frame on `fd`; `before_read()` runs before each read (a deadline)."""
    (size,) = _HEADER.unpack(_read_exactly(fd, _HEADER.size, before_read))
    if size > MAX_FRAME_BYTES:
        raise WireError(f"a frame of {size >> 20} MiB (at most {MAX_FRAME_BYTES >> 20} MiB)")
    return _read_exactly(fd, size, before_read)


def _read_exactly(fd: int, size: int, before_read) -> bytes:
    chunks = []
    while size:
        if before_read:
            before_read()
        chunk = os.read(fd, min(size, 1 << 20))
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)
