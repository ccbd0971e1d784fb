"""Writes a small safetensors file whose values are known, and prints what
tests/vendor/app.c must print for it (check_vendor.sh, check_amalgamation.sh).
Written with Python's struct and json, independently of the library.
Usage: python3 tests/vendor/make_tiny.py FILE VERSION"""
import json
import struct
import sys

path, version = sys.argv[1], sys.argv[2]
hdr = {"__metadata__": {"format": "pt"},
       "embed.weight": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]},
       "scale": {"dtype": "F16", "shape": [2], "data_offsets": [24, 28]}}
data = struct.pack("<6f", 0.5, -1, 2, 3.25, 0, -7.75) + struct.pack("<2e", 1.5, -0.125)
h = json.dumps(hdr).encode()
h += b" " * (-len(h) % 8)
with open(path, "wb") as f:
    f.write(struct.pack("<Q", len(h)) + h + data)
print("libsafetensors %s, 2 tensors" % version)
print("embed.weight F32 [2,3] 0.5 -1 2 3.25 0 -7.75")
print("scale F16 [2] 1.5 -0.125")
