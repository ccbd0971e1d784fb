"""safetensors_c: safetensors files through libsafetensors (C, ctypes).

The reference package's API, so that switching imports keeps code working::

    from safetensors_c import safe_open             # was: from safetensors import safe_open
    from safetensors_c.numpy import load_file, save_file
    from safetensors_c.torch import load_file, save_file, load_model, save_model

Top level, as the reference's: safe_open, serialize, serialize_file,
deserialize, SafetensorError, TensorSpec, __version__. Differences from the
reference (numpy slicing rules, read-only zero-copy arrays, ...) are listed
in docs/python.md.
"""

from ._core import (DTYPE_NAMES, SafetensorDtypeAttributeError, SafetensorDtypeError,
                    SafetensorError, SafetensorsError, SafetensorSliceError, TensorSpec,
                    deserialize, library_path, library_version, numpy_dtype, open_bytes,
                    safe_open, safe_slice, serialize, serialize_file, torch_dtype)
from ._write import StreamWriter, save_sharded

__version__: str = library_version()

__all__ = ["safe_open", "safe_slice", "serialize", "serialize_file", "deserialize",
           "SafetensorError", "SafetensorsError", "SafetensorSliceError",
           "SafetensorDtypeError", "SafetensorDtypeAttributeError", "TensorSpec",
           "StreamWriter", "save_sharded", "open_bytes", "numpy_dtype", "torch_dtype",
           "library_version", "library_path", "DTYPE_NAMES", "__version__"]
