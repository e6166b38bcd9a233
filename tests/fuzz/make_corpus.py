#!/usr/bin/env python3
"""make_corpus.py: writes the hand-made seeds of tests/fuzz/corpus/ (small valid and
near-valid inputs) and the near-valid variants of the real checkpoints that
seed_checkpoints writes. Run from the repository root after seed_checkpoints:
    python3 tests/fuzz/make_corpus.py
The other seeds (config_*.json from `plab run --dry-run`, experiments/*.json) are copies."""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


# ---- key=value: one argument per line
KV = {
    "defaults": "tasks=3\nlr=0.01\nhidden=100,100,100\nseed=7",
    "preset_method": "preset=pmnist-h100\nmethod=swr\nswr_period=2048\nswr_factor=1e-05",
    "cbp": "method=cbp\ncbp_rate=1e-4\ncbp_maturity=100\ncbp_utility=contribution",
    "cbp_nature": "preset=scr-nature\nmethod=cbp-nature\ncbp_decay=0.99\ncbp_accumulate=false",
    "redo_ln": "method=redo\nlayer_norm=true\nunit_utility_input=normalized\nredo_threshold=0",
    "adamw": "optimizer=adamw\nbeta1=0.9\nbeta2=0.999\neps=1e-8\nl2=0",
    "bounds": "momentum=1\nlr=0\ntasks=0\nbatch_size=65537\neps=1",
    "ints": "tasks=1e3\nsteps_per_task=2048.0\nprobe_every=-0\nscr_period=9e15",
    "u64": "seed=18446744073709551615\nseed=18446744073709551616\nseed=-1\nseed= 12 ",
    "hidden": "hidden=\nhidden=none\nhidden=1,2,3,4,5,6,7,8,9\nhidden=16777217\nhidden=8,,8",
    "enum": "activation=crelu\nhidden=3\nactivation=gelu\nkernels=avx512\nfused_update=off",
    "strings": "problem=scr\nproblem=pmnist\ndata_dir=/tmp/data\nproblem=",
    "skip": "skip=true\nlayer_norm=true\nhidden=10,20",
    "bad_args": "=1\nnoequals\nunknown=1\nmethod=\npreset=nope",
    "snp": "method=snp\nsnp_noise_var=1e-6\nmethod=l2\nl2=1e-4",
}
for name, text in KV.items():
    write("fuzz_config_kv", name, text)

# ---- JSON experiment files
JSON = {
    "exp_small.json": '{"preset": "synthetic", "method": "swr", "tasks": 5, "lr": 0.01,\n'
                      ' "hidden": [32, 32], "seed": "12345678901234567890"}\n',
    "sweep_axes.json": '{"preset": "pmnist-h100", "method": ["none", "cbp"],\n'
                       ' "lr": [0.1, 0.01], "hidden": [[10], [20, 20]], "seed": [0, 1]}\n',
    "nested_config.json": '{"config": {"method": "redo", "tasks": 2, "layer_norm": true},\n'
                          ' "_note": "x", "kernels_used": "scalar"}\n',
    "duplicate.json": '{"tasks": 1,\n "tasks": 2}\n',
    "wrong_types.json": '{"tasks": "3", "layer_norm": 1, "hidden": [1, "a"], "seed": -1}\n',
    "unknown_key.json": '{"bogus": 1}\n',
    "malformed.json": '{"tasks": 3,\n "lr": }\n',
    "not_object.json": '[1, 2, 3]\n',
    "empty_list.json": '{"lr": []}\n',
    "escapes.json": '{"data_dir": "a\\u0000b\\n\\"\\\\\\u00e9", "problem": "synthetic"}\n',
    "deep.json": '{"config": {"config": {"tasks": 1}}}\n',
    "numbers.json": '{"tasks": 1e3, "lr": 1e-400, "momentum": 1e400, "seed": 9007199254740993}\n',
}
for name, text in JSON.items():
    write("fuzz_config_json", name, text)


# ---- IDX pairs: byte 0 num_classes % 12, bytes 1..4 image length (LE), images, labels
def idx_images(n, rows, cols, fill=0):
    return struct.pack(">IIII", 0x803, n, rows, cols) + bytes((fill + i) % 256 for i in range(n * rows * cols))


def idx_labels(labels):
    return struct.pack(">II", 0x801, len(labels)) + bytes(labels)


def idx_input(nc, img, lab, declared=None):
    return bytes([nc]) + struct.pack("<I", len(img) if declared is None else declared) + img + lab


IDX = {
    "valid_3x2x2": idx_input(10, idx_images(3, 2, 2), idx_labels([0, 1, 9])),
    "valid_infer": idx_input(0, idx_images(4, 1, 3), idx_labels([0, 1, 2, 1])),
    "valid_28x28": idx_input(10, idx_images(1, 28, 28, 7), idx_labels([5])),
    "label_out_of_range": idx_input(10, idx_images(2, 2, 2), idx_labels([3, 10])),
    "all_zero_labels": idx_input(0, idx_images(2, 2, 2), idx_labels([0, 0])),
    "truncated_images": idx_input(10, idx_images(3, 2, 2)[:-1], idx_labels([0, 1, 2])),
    "trailing_labels": idx_input(10, idx_images(2, 2, 2), idx_labels([0, 1]) + b"\0"),
    "count_mismatch": idx_input(10, idx_images(2, 2, 2), idx_labels([0, 1, 2])),
    "swapped": idx_input(10, idx_labels([0, 1]), idx_images(2, 2, 2)),
    "gzip": idx_input(10, b"\x1f\x8b\x08\x00" + b"\0" * 12, idx_labels([0])),
    "huge_header": idx_input(10, struct.pack(">IIII", 0x803, 100000000, 256, 256), idx_labels([0])),
    "short_header": idx_input(10, struct.pack(">II", 0x803, 1), idx_labels([0])),
    "zero_count": idx_input(10, struct.pack(">IIII", 0x803, 0, 2, 2), idx_labels([])),
}
for name, data in IDX.items():
    write("fuzz_idx", name, data)

# ---- near-valid checkpoints from a real one
ck = os.path.join(HERE, "corpus", "fuzz_checkpoint", "step17.ckpt")
if os.path.exists(ck):
    real = open(ck, "rb").read()
    write("fuzz_checkpoint", "truncated.ckpt", real[:-9])
    write("fuzz_checkpoint", "bad_magic.ckpt", b"PLABCKP0" + real[8:])
    write("fuzz_checkpoint", "version1.ckpt", real[:8] + struct.pack("<I", 1) + real[12:])
    write("fuzz_checkpoint", "flipped.ckpt", real[:100] + bytes([real[100] ^ 1]) + real[101:])
    write("fuzz_checkpoint", "header_only.ckpt", real[:48])
