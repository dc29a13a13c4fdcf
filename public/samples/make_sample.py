#!/usr/bin/env python3
"""Builds the real-weights sample of Convergence Lab's Experiment 1 from the
silero-vad wheel on PyPI (MIT licence, (c) Silero Team). Standard library
only; nothing is trained, rounded or generated here.

  pip download --no-deps -d WHEELS silero-vad==6.2.3
  python3 make_sample.py WHEELS/silero_vad-6.2.3-py3-none-any.whl OUT_DIR

The wheel ships two checkpoints of the same 16 kHz voice-activity model:
`data/silero_vad_16k.safetensors`, copied as is to
`silero-vad-6.2.3-16k.safetensors`, and the TorchScript archive
`data/silero_vad.jit` (internal name VADr_v6_10_25_noths_re), whose 16 kHz
tensors are written byte for byte (float32, row-major) under the first
file's tensor names, in its layout, to `silero-vad-6.2.3-jit-16k.safetensors`.
The two differ like two fine-tunes of one model (cosine 0.90-0.996 per
tensor). Before writing, the name map is checked: every mapped tensor has
the same shape, the fixed STFT basis is bit-identical, and every learned
tensor has cosine above 0.85 with its namesake (a wrong map gives ~0).
"""
import array, hashlib, io, json, math, pickle, struct, sys, zipfile

# safetensors name <- TorchScript state name (16 kHz branch `_model`).
NAMES = {
    "stft_conv.weight": "_model.stft.forward_basis_buffer",
    "conv1.weight": "_model.encoder.0.reparam_conv.weight",
    "conv1.bias": "_model.encoder.0.reparam_conv.bias",
    "conv2.weight": "_model.encoder.1.reparam_conv.weight",
    "conv2.bias": "_model.encoder.1.reparam_conv.bias",
    "conv3.weight": "_model.encoder.2.reparam_conv.weight",
    "conv3.bias": "_model.encoder.2.reparam_conv.bias",
    "conv4.weight": "_model.encoder.3.reparam_conv.weight",
    "conv4.bias": "_model.encoder.3.reparam_conv.bias",
    "lstm_cell.weight_ih": "_model.decoder.rnn.weight_ih",
    "lstm_cell.weight_hh": "_model.decoder.rnn.weight_hh",
    "lstm_cell.bias_ih": "_model.decoder.rnn.bias_ih",
    "lstm_cell.bias_hh": "_model.decoder.rnn.bias_hh",
    "final_conv.weight": "_model.decoder.decoder.2.weight",
    "final_conv.bias": "_model.decoder.decoder.2.bias",
}


class _Module:
    """Stands for any TorchScript module class: keeps its state dict."""

    def __init__(self, *args):
        self.state = None

    def __setstate__(self, state):
        self.state = state


def _rebuild_tensor(storage, offset, size, stride, *rest):
    return ("tensor", storage, offset, tuple(size), tuple(stride))


class _Unpickler(pickle.Unpickler):
    def __init__(self, data, archive, prefix):
        super().__init__(io.BytesIO(data))
        self.archive, self.prefix = archive, prefix

    def find_class(self, module, name):
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _rebuild_tensor
        if module == "torch" and name.endswith("Storage"):
            return name
        if module == "collections" and name == "OrderedDict":
            return dict
        return type(name, (_Module,), {})

    def persistent_load(self, pid):
        _, storage_type, key, _, numel = pid
        return (storage_type, self.archive.read(f"{self.prefix}/data/{key}"), numel)


def _walk(obj, path, out):
    if isinstance(obj, tuple) and obj and obj[0] == "tensor":
        out[path] = obj
    elif isinstance(obj, _Module) and isinstance(obj.state, dict):
        for k, v in obj.state.items():
            _walk(v, f"{path}.{k}" if path else k, out)


def jit_tensors(jit_bytes):
    """name -> (shape, little-endian float32 bytes) of a TorchScript archive."""
    archive = zipfile.ZipFile(io.BytesIO(jit_bytes))
    pkl = next(n for n in archive.namelist() if n.endswith("/data.pkl"))
    prefix = pkl.rsplit("/", 1)[0]
    found = {}
    _walk(_Unpickler(archive.read(pkl), archive, prefix).load(), "", found)
    out = {}
    for name, (_, (storage_type, data, numel), offset, shape, stride) in found.items():
        count = 1
        for d in shape:
            count *= d
        # Only contiguous float32 tensors are taken (every one in NAMES is).
        expect, acc = [], 1
        for d in reversed(shape):
            expect.append(acc)
            acc *= d
        contiguous = all(s == e or d == 1 for s, e, d in zip(stride, reversed(expect), shape))
        if storage_type != "FloatStorage" or not contiguous:
            continue
        out[name] = (list(shape), data[4 * offset : 4 * (offset + count)])
    return out


def read_safetensors(data):
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8 : 8 + n])
    body = data[8 + n :]
    return header, {
        k: body[v["data_offsets"][0] : v["data_offsets"][1]]
        for k, v in header.items()
        if k != "__metadata__"
    }


def write_like(header, tensors):
    """A safetensors file with `header`'s names, order and offsets."""
    out_header, body = {}, b""
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        shape, raw = tensors[name]
        assert shape == entry["shape"], (name, shape, entry["shape"])
        out_header[name] = {
            "dtype": "F32",
            "shape": shape,
            "data_offsets": [len(body), len(body) + len(raw)],
        }
        body += raw
    text = json.dumps(out_header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + body


def cosine(a, b):
    x, y = array.array("f", a), array.array("f", b)
    dot = sum(p * q for p, q in zip(x, y))
    return dot / math.sqrt(sum(p * p for p in x) * sum(q * q for q in y))


def main(wheel, out_dir):
    w = zipfile.ZipFile(wheel)
    st = w.read("silero_vad/data/silero_vad_16k.safetensors")
    header, data = read_safetensors(st)
    jit = jit_tensors(w.read("silero_vad/data/silero_vad.jit"))
    assert set(NAMES) == set(data), "the name map covers every tensor"
    for st_name, jit_name in NAMES.items():
        shape, raw = jit[jit_name]
        assert shape == header[st_name]["shape"], st_name
        similarity = cosine(raw, data[st_name])
        assert similarity > 0.85, (st_name, similarity)
        print(f"{st_name:22} {str(shape):16} cosine {similarity:.3f}")
    assert jit[NAMES["stft_conv.weight"]][1] == data["stft_conv.weight"]
    converted = write_like(header, {k: jit[j] for k, j in NAMES.items()})
    for name, data in [
        ("silero-vad-6.2.3-16k.safetensors", st),
        ("silero-vad-6.2.3-jit-16k.safetensors", converted),
    ]:
        with open(f"{out_dir}/{name}", "wb") as f:
            f.write(data)
        print(f"{name}: {len(data)} bytes, sha256 {hashlib.sha256(data).hexdigest()}")


if __name__ == "__main__":
    main(*sys.argv[1:3])
