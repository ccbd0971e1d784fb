#!/usr/bin/env python3
"""Writes the fuzz seed corpus: small valid and nearly-valid safetensors files,
each prefixed with the fuzz target's 3 option bytes. Usage: make_seeds.py DIR"""
import json, os, struct, sys

def frame(header, data=b"", pad=True, flags=0):
    h = header.encode("utf-8") if isinstance(header, str) else header
    if pad:
        h += b" " * ((-len(h)) % 8)
    return bytes([flags, 0, 0]) + struct.pack("<Q", len(h)) + h + data

def entry(dtype, shape, b, e, **extra):
    d = {"dtype": dtype, "shape": shape, "data_offsets": [b, e]}
    d.update(extra)
    return d

def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    seeds = {}
    seeds["empty"] = frame("{}")
    seeds["one_f32"] = frame(json.dumps({"w": entry("F32", [2], 0, 8)}), bytes(range(8)))
    seeds["meta"] = frame(json.dumps({"__metadata__": {"format": "pt", "k\u00e9": "v\\\""},
                                      "a": entry("BF16", [2, 2], 0, 8),
                                      "b": entry("U8", [3], 8, 11),
                                      "z": entry("I64", [0], 11, 11)}), bytes(11))
    seeds["meta_null"] = frame('{"__metadata__":null,"s":{"dtype":"F64","shape":[],"data_offsets":[0,8]}}', bytes(8))
    seeds["subbyte"] = frame(json.dumps({"f4": entry("F4", [4], 0, 2), "f6": entry("F6_E2M3", [4], 2, 5),
                                         "c": entry("C64", [1], 5, 13)}), bytes(13))
    seeds["unpadded"] = frame('{"x":{"dtype":"F16","shape":[3],"data_offsets":[0,6]},"y":{"dtype":"I32","shape":[1],"data_offsets":[6,10]}}', bytes(10), pad=False)
    seeds["escapes"] = frame('{"\\u0061\\n\\ud83d\\ude00":{"dtype":"I8","shape":[1],"data_offsets":[0,1],"extra":{"k":[1,2,{"q":null}]}}}', b"\x01")
    seeds["trailing"] = frame(json.dumps({"w": entry("U16", [1], 0, 2)}), b"\x00\x01\x02\x03", flags=1)
    seeds["nul_pad"] = frame(b'{"w":{"dtype":"BOOL","shape":[1],"data_offsets":[0,1]}}\x00\x00\x00', b"\x01", pad=False, flags=2)
    seeds["order"] = frame(json.dumps({"b": entry("F32", [1], 4, 8), "a": entry("F32", [1], 0, 4),
                                       "e": entry("F32", [0], 4, 4)}), bytes(8))
    names = {}
    off = 0
    for i in range(12):
        names[f"model.layers.{i}.self_attn.q_proj.weight"] = entry("F8_E4M3", [2, 2], off, off + 4)
        off += 4
    seeds["many"] = frame(json.dumps(names), bytes(off))
    # objects past the inline duplicate check (more than 32 keys): the sorted
    # check, with and without a duplicate, in metadata and in an entry
    big_meta = ",".join(f'"k{i}":"v{i}"' for i in range(40))
    seeds["meta_40_keys"] = frame('{"__metadata__":{' + big_meta + '},"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', b"\x01")
    seeds["meta_40_keys_dup"] = frame('{"__metadata__":{' + big_meta + ',"k7":"again"},"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', b"\x01")
    big_extra = ",".join(f'"x{i}":{i}' for i in range(40))
    seeds["entry_40_fields"] = frame('{"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1],' + big_extra + '}}', b"\x01")
    seeds["entry_40_fields_dup"] = frame('{"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1],' + big_extra + ',"x3":0}}', b"\x01")
    seeds["cap"] = bytes([0x80, 0, 40]) + frame(json.dumps({"w": entry("U32", [1], 0, 4)}), bytes(4))[3:]
    for name, data in seeds.items():
        with open(os.path.join(out, name + ".bin"), "wb") as f:
            f.write(data)
    print(f"make_seeds: {len(seeds)} seeds in {out}")

main()
