"""A GGUF model file as the trainer holds it: its metadata, and every tensor in float32.

Read with the ``gguf`` package (https://pypi.org/project/gguf/, the reader and ggml block
formats of llama.cpp's ``gguf-py``); written back with its ``GGUFWriter``. No llama.cpp checkout
and no Hugging Face checkpoint are involved.

Tensors stay in GGUF's own layout and names (``token_embd.weight``, ``blk.N.attn_q.weight`` …),
one output feature per row. In particular ``attn_q``/``attn_k`` keep the row order llama.cpp's
converter gives them, which is the order for RoPE on adjacent pairs (see `llama.py`), so reading
and writing need no permutation.
"""

from __future__ import annotations

import os
import pathlib
from dataclasses import dataclass, field

import numpy as np

from .errors import TrainerError

try:
    import gguf
except ImportError:  # reported when a checkpoint is first read or written
    gguf = None

#: ``general.file_type`` for each output type (llama.cpp's LlamaFileType).
FILE_TYPES = {"f32": 0, "f16": 1, "q8_0": 7}
#: Output types this module writes; all of them are ones the built-in engine loads.
OUTTYPES = tuple(FILE_TYPES)


def require_gguf():
    """The ``gguf`` module, or a `TrainerError` saying how to install it."""
    if gguf is None:
        raise TrainerError("MISSING_DEPENDENCY", "the trainer needs the `gguf` package: "
                                                 "pip install 'arbor-client[torch]' (or pip install gguf)")
    return gguf


@dataclass
class MetadataEntry:
    """One GGUF key/value pair: ``types`` is ``[type]`` or ``[ARRAY, element type]`` (GGUFValueType)."""

    key: str
    value: object
    types: list


@dataclass
class Checkpoint:
    """A GGUF file's metadata and its tensors dequantised to float32 (numpy, ``[rows, columns]``)."""

    #: Where it was read from (or last written to).
    path: str
    #: Every key/value pair in file order, except the header's own ``GGUF.*`` entries.
    metadata: list = field(repr=False)
    #: Tensor name → float32 array, in file order; 2-D tensors are ``[rows, columns]`` (ggml's
    #: ``ne[1], ne[0]``), 1-D ones (norms) ``[n]``.
    tensors: dict = field(repr=False)
    #: Tensor name → the GGML type name it was stored with (``"Q4_1"``, ``"F32"`` …).
    stored_types: dict = field(repr=False, default_factory=dict)

    def value(self, key: str, default=None):
        """The metadata value for ``key``, or ``default``."""
        for entry in self.metadata:
            if entry.key == key:
                return entry.value
        return default

    def require(self, key: str):
        """The metadata value for ``key``; raises `TrainerError` (``BAD_MODEL``) naming the file when absent."""
        for entry in self.metadata:
            if entry.key == key:
                return entry.value
        raise TrainerError("BAD_MODEL", f"{self.path}: GGUF metadata key `{key}` is missing")

    @classmethod
    def read(cls, path: str | os.PathLike) -> "Checkpoint":
        """Reads ``path`` and dequantises every tensor (any type ``gguf.quants`` knows) to float32.

        Raises `TrainerError` (``BAD_MODEL``) when the file is missing or not GGUF, or a tensor's
        type cannot be dequantised.
        """
        gguf = require_gguf()
        path = str(path)
        if not os.path.isfile(path):
            raise TrainerError("BAD_MODEL", f"{path}: no such model file")
        try:
            reader = gguf.GGUFReader(path)
        except Exception as error:  # the reader raises ValueError, struct.error, … on a bad file
            raise TrainerError("BAD_MODEL", f"{path}: not a readable GGUF file ({error})") from error
        metadata = []
        for key, entry in reader.fields.items():
            if key.startswith("GGUF."):
                continue
            types = list(entry.types)
            if len(types) > 2:
                raise TrainerError("BAD_MODEL", f"{path}: metadata key `{key}` is a nested array, which this "
                                                "trainer cannot copy")
            metadata.append(MetadataEntry(key, entry.contents(), types))
        tensors, stored = {}, {}
        for tensor in reader.tensors:
            try:
                values = gguf.quants.dequantize(tensor.data, tensor.tensor_type)
            except NotImplementedError as error:
                raise TrainerError("BAD_MODEL", f"{path}: tensor {tensor.name} has type {tensor.tensor_type.name}, "
                                                f"which gguf {gguf_version()} cannot dequantise") from error
            shape = tuple(int(n) for n in reversed(tensor.shape.tolist()))  # ggml ne[] is innermost first
            tensors[tensor.name] = np.array(values, dtype=np.float32).reshape(shape)  # a copy: the file's map closes
            stored[tensor.name] = tensor.tensor_type.name
        return cls(path=path, metadata=metadata, tensors=tensors, stored_types=stored)

    def write(self, path: str | os.PathLike, outtype: str = "f16", tensors: dict | None = None) -> pathlib.Path:
        """Writes the metadata and ``tensors`` (default: this checkpoint's) as GGUF at ``path``.

        ``outtype`` is ``f16`` (default), ``q8_0`` or ``f32`` for the 2-D weights; 1-D tensors
        (norms) stay float32, as llama.cpp stores them. ``general.file_type`` is set to match;
        every other metadata entry (tokenizer, chat template, hyperparameters) is copied as is.
        The file is written beside ``path`` and renamed into place, so a reader never sees half
        of it. Returns the path. Raises `TrainerError` (``CONFIG``) for an unknown ``outtype``,
        or a q8_0 tensor whose rows are not a multiple of 32.
        """
        gguf = require_gguf()
        if outtype not in FILE_TYPES:
            raise TrainerError("CONFIG", f"--outtype {outtype!r}: expected one of {', '.join(OUTTYPES)}")
        tensors = self.tensors if tensors is None else tensors
        path = pathlib.Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")
        architecture = self.require("general.architecture")
        writer = gguf.GGUFWriter(str(partial), architecture)
        for entry in self.metadata:
            if entry.key == "general.architecture":
                continue  # the writer wrote it first, from `architecture`
            value = FILE_TYPES[outtype] if entry.key == "general.file_type" else entry.value
            if entry.key == "general.alignment":
                writer.data_alignment = int(value)
            sub_type = entry.types[1] if entry.types[0] == gguf.GGUFValueType.ARRAY else None
            writer.add_key_value(entry.key, value, entry.types[0], sub_type=sub_type)
        if self.value("general.file_type") is None:
            writer.add_file_type(FILE_TYPES[outtype])
        for name, array in tensors.items():
            array = np.ascontiguousarray(array, dtype=np.float32)
            if array.ndim == 1 or outtype == "f32":
                writer.add_tensor(name, array)
            elif outtype == "f16":
                writer.add_tensor(name, array.astype(np.float16))
            else:
                if array.shape[-1] % 32:
                    raise TrainerError("CONFIG", f"tensor {name}: rows of {array.shape[-1]} values cannot be stored "
                                                 "as q8_0 (blocks of 32); use --outtype f16")
                quantized = gguf.quants.quantize(array, gguf.GGMLQuantizationType.Q8_0)
                writer.add_tensor(name, quantized, raw_dtype=gguf.GGMLQuantizationType.Q8_0)
        try:
            writer.write_header_to_file()
            writer.write_kv_data_to_file()
            writer.write_tensors_to_file()
        finally:
            writer.close()
        os.replace(partial, path)
        return path


def gguf_version() -> str:
    """The installed ``gguf`` package's version, for messages."""
    try:
        from importlib.metadata import version
        return version("gguf")
    except Exception:
        return "(unknown version)"
