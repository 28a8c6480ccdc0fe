"""Fine-tunes sohoa's line model on labelled text lines (`sohoa train` runs this script).

The network is rebuilt in PyTorch from the ONNX model itself, one module per block of the
graph, its weights taken from the ONNX initializers: batch norm is already folded into the
convolutions there (they carry a bias), and ONNX orders the LSTM gates i, o, f, c where
PyTorch orders i, f, g, o (swapped on the way in and back). The trained model is written
by putting the new weights back into a copy of the same ONNX graph, so that the reader in
sohoa runs exactly the graph it always runs.

Commands (all output is JSON lines on stdout, for `sohoa train` to show):
  train   --base M.onnx --out DIR --data LABELS.tsv... [--val LABELS.tsv...] [options]
  logits  --model M.onnx --image LINE.png   the PyTorch log-probabilities of one line

Data: `labels.tsv` files of `path<TAB>text` (paths relative to the file), the format of
`sohoa dataset`. Inputs are prepared as sohoa's reader prepares them: grey, the contrast
stretched, 32 pixels high, scaled to [0, 1], padded with paper on the right.
"""

import argparse
import copy
import hashlib
import json
import math
import os
import random
import sys
import time
import unicodedata

import numpy as np
import onnx
import torch
from onnx import numpy_helper
from PIL import Image, ImageFilter
from torch import nn
from torch.nn import functional as F

HEIGHT = 32
STRIDE = 4
MAX_WIDTH = 1024
# Blocks of the backbone: (ONNX path, stride of its depthwise convolution).
BLOCKS = [
    ("layer1/layer1.0", (1, 1)),
    ("layer1/layer1.1", (2, 1)),
    ("layer2/layer2.0", (1, 1)),
    ("layer2/layer2.1", (2, 2)),
    ("layer3/layer3.0", (1, 1)),
    ("layer3/layer3.1", (2, 2)),
    ("layer4/layer4.0", (1, 1)),
]
# Look-alike dashes and quotes, read as the ones the vocabulary holds (as sohoa's reader does).
LOOKALIKE = str.maketrans({"–": "-", "—": "-", "‐": "-", "−": "-", "‘": "'", "’": "'", "“": '"', "”": '"'})
# The stages `--freeze N` keeps as they are: the stem and the first N-1 layers.
STAGES = ["stem", "layer1", "layer2", "layer3", "layer4"]


def emit(**event):
    print(json.dumps(event, ensure_ascii=False), flush=True)


def fail(message):
    emit(event="error", message=message)
    sys.exit(2)


# ---------------------------------------------------------------- the network


def initializers_by_path(graph):
    """ONNX module path ('/backbone/stem/hp_proj/hp_proj.0') → its initializer names."""
    names = {t.name for t in graph.initializer}
    by_path = {}
    for n in graph.node:
        path = n.output[0].rsplit("/", 1)[0] if n.output[0].startswith("/") else n.output[0]
        if n.op_type == "LSTM":  # two LSTM nodes share one module path
            path = n.output[0]
        inits = [i for i in n.input if i in names]
        if inits:
            by_path.setdefault((path, n.op_type), []).extend(inits)
    return by_path


def lstm_from_onnx(w, r, b):
    """ONNX (i, o, f, c) gate blocks → PyTorch (i, f, g, o)."""
    h = r.shape[-1]
    order = [0, 2, 3, 1]

    def swap(x):
        return np.concatenate([x[k * h:(k + 1) * h] for k in order], axis=0)

    return swap(w), swap(r), swap(b[: 4 * h]), swap(b[4 * h:])


def lstm_to_onnx(w, r, bw, br):
    h = r.shape[-1]
    order = [0, 3, 1, 2]  # PyTorch i, f, g, o → ONNX i, o, f, c

    def swap(x):
        return np.concatenate([x[k * h:(k + 1) * h] for k in order], axis=0)

    return swap(w), swap(r), np.concatenate([swap(bw), swap(br)])


class LineNet(nn.Module):
    """The line model, built from an ONNX graph of sohoa's line model."""

    def __init__(self, model):
        super().__init__()
        g = model.graph
        self.arrays = {t.name: numpy_helper.to_array(t) for t in g.initializer}
        self.by_path = initializers_by_path(g)
        self.params = nn.ParameterDict()
        self.key = {}  # ONNX initializer name → parameter key
        self.lstms = nn.ModuleList()
        self.lstm_names = []

        def param(name):
            k = "p%d" % len(self.key)
            self.key[name] = k
            self.params[k] = nn.Parameter(torch.from_numpy(self.arrays[name].copy()))

        for (path, op), inits in self.by_path.items():
            if op == "LSTM":
                w, r, b = (self.arrays[i] for i in inits[:3])
                hidden = r.shape[-1]
                lstm = nn.LSTM(w.shape[-1], hidden, bidirectional=True)
                for d, suffix in enumerate(["", "_reverse"]):
                    pw, pr, pbw, pbr = lstm_from_onnx(w[d], r[d], b[d])
                    for name, arr in [("weight_ih_l0", pw), ("weight_hh_l0", pr), ("bias_ih_l0", pbw), ("bias_hh_l0", pbr)]:
                        getattr(lstm, name + suffix).data = torch.from_numpy(np.ascontiguousarray(arr))
                self.lstms.append(lstm)
                self.lstm_names.append(inits[:3])
            elif path.endswith("pos_encoder") or (path == "/backbone/stem" and op == "Conv"):
                continue  # fixed: the positional table and the Laplacian kernel
            else:
                for i in inits:
                    param(i)
        self.register_buffer("laplacian", torch.from_numpy(self.arrays[self.by_path[("/backbone/stem", "Conv")][0]].copy()))
        pe = [n for n in self.arrays if n.endswith("pos_encoder.pe")]
        self.register_buffer("pe", torch.from_numpy(self.arrays[pe[0]].copy()))
        self.heads = 4

    def p(self, path, op, i=0):
        return self.params[self.key[self.by_path[(path, op)][i]]]

    def has(self, path, op):
        return (path, op) in self.by_path

    def conv(self, x, path, stride=1, padding=0, groups=1):
        return F.conv2d(x, self.p(path, "Conv", 0), self.p(path, "Conv", 1), stride, padding, 1, groups)

    def block(self, x, path, stride):
        path = "/backbone/" + path
        res = self.conv(x, path + "/shortcut/shortcut.0", stride) if self.has(path + "/shortcut/shortcut.0", "Conv") else x
        o = F.silu(self.conv(x, path + "/pw1"))
        o = F.silu(self.conv(o, path + "/dw", stride, 1, o.shape[1]))
        s = o.mean(dim=(2, 3))
        s = torch.sigmoid(F.silu(s @ self.p(path + "/se/fc/fc.0", "MatMul")) @ self.p(path + "/se/fc/fc.2", "MatMul"))
        o = self.conv(o * s[:, :, None, None], path + "/pw2")
        return F.silu(o + res)

    def stage(self, x, name):
        if name == "stem":
            main = F.silu(self.conv(x, "/backbone/stem/conv_main/conv_main.0", 1, 1))
            hp = F.conv2d(x, self.laplacian, None, 1, 1, 1, x.shape[1])
            return main + self.p("/backbone/stem", "Mul") * self.conv(hp, "/backbone/stem/hp_proj/hp_proj.0")
        for path, stride in BLOCKS:
            if path.startswith(name + "/"):
                x = self.block(x, path, stride)
        if name == "layer4":
            x = F.silu(self.conv(x, "/backbone/layer4/layer4.1", (4, 1)))
        return x

    def encoder_layer(self, x, n):
        path = "/language_head/transformer/layers.%d" % n
        t, b, d = x.shape
        h = F.layer_norm(x, (d,), self.p(path + "/norm1", "LayerNormalization", 0), self.p(path + "/norm1", "LayerNormalization", 1), 1e-5)
        qkv = h @ self.p(path + "/self_attn", "MatMul") + self.p(path + "/self_attn", "Add")
        q, k, v = (z.reshape(t, b * self.heads, d // self.heads).transpose(0, 1) for z in qkv.chunk(3, dim=-1))
        a = F.scaled_dot_product_attention(q, k, v, dropout_p=0.1 if self.training else 0.0)
        a = a.transpose(0, 1).reshape(t, b, d)
        a = F.linear(a, self.p(path + "/self_attn", "Gemm", 0), self.p(path + "/self_attn", "Gemm", 1))
        x = x + F.dropout(a, 0.1, self.training)
        h = F.layer_norm(x, (d,), self.p(path + "/norm2", "LayerNormalization", 0), self.p(path + "/norm2", "LayerNormalization", 1), 1e-5)
        h = F.gelu(h @ self.p(path + "/linear1", "MatMul") + self.p(path + "/linear1", "Add"))
        h = F.dropout(h, 0.1, self.training) @ self.p(path + "/linear2", "MatMul") + self.p(path + "/linear2", "Add")
        return x + F.dropout(h, 0.1, self.training)

    def low(self, x, frozen):
        """The frozen stages (no gradient), then the rest of the backbone."""
        with torch.no_grad():
            for name in STAGES[:frozen]:
                x = self.stage(x, name)
        for name in STAGES[frozen:]:
            x = self.stage(x, name)
        return x

    def forward(self, x, frozen=0):
        f = self.low(x, frozen).squeeze(2).permute(2, 0, 1)  # (T, B, C)
        h = f
        for i, lstm in enumerate(self.lstms):
            if i:
                h = F.dropout(h, 0.1, self.training)
            h, _ = lstm(h)
        vis = h
        x = vis + self.pe[: vis.shape[0]]
        for n in range(2):
            x = self.encoder_layer(x, n)
        d = x.shape[-1]
        lang = F.layer_norm(x, (d,), self.p("/language_head/norm", "LayerNormalization", 0), self.p("/language_head/norm", "LayerNormalization", 1), 1e-5)
        gate = torch.sigmoid(torch.cat([vis, lang], -1) @ self.p("/fusion/gate_linear", "MatMul") + self.p("/fusion/gate_linear", "Add"))
        fused = gate * vis + (1 - gate) * lang
        logits = fused @ self.p("/classifier", "MatMul") + self.p("/classifier", "Add")
        return F.log_softmax(logits, dim=2)

    def freeze_stages(self, frozen):
        for name in STAGES[:frozen]:
            prefix = "/backbone/%s" % name
            for (path, _), inits in self.by_path.items():
                if path.startswith(prefix + "/") or path == prefix:
                    for i in inits:
                        if i in self.key:
                            self.params[self.key[i]].requires_grad_(False)

    def to_onnx(self, model):
        """A copy of `model` holding this network's weights."""
        out = copy.deepcopy(model)
        new = {}
        for name, k in self.key.items():
            new[name] = self.params[k].detach().cpu().numpy()
        for lstm, (wn, rn, bn) in zip(self.lstms, self.lstm_names):
            ws, rs, bs = [], [], []
            for suffix in ["", "_reverse"]:
                w, r, b = lstm_to_onnx(*(getattr(lstm, n + suffix).detach().cpu().numpy() for n in ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"]))
                ws.append(w)
                rs.append(r)
                bs.append(b)
            new[wn], new[rn], new[bn] = np.stack(ws), np.stack(rs), np.stack(bs)
        for t in out.graph.initializer:
            if t.name in new:
                t.CopyFrom(numpy_helper.from_array(new[t.name].astype(np.float32).reshape(tuple(t.dims)), t.name))
        return out


# ---------------------------------------------------------------- the lines


def stretch(img):
    """The contrast stretched: the darkest 1% of the samples to black, the lightest 1% to
    white; left alone when already stretched or too flat. Integer arithmetic, exactly as
    sohoa's reader (`ocr::line::stretch`)."""
    hist = img.histogram()
    cut = sum(hist) // 100
    lo, seen = 0, 0
    for v in range(256):
        seen += hist[v]
        if seen > cut:
            lo = v
            break
    hi, seen = 255, 0
    for v in range(255, -1, -1):
        seen += hist[v]
        if seen > cut:
            hi = v
            break
    if hi - lo < 16 or (lo == 0 and hi == 255):
        return img
    lut = [min(255, max(0, ((v - lo) * 255 + (hi - lo) // 2) // (hi - lo))) for v in range(256)]
    return img.point(lut)


def to_input(img, squeeze=True):
    """A grey line → (32 × W) floats in [0, 1], W a multiple of the stride."""
    w, h = img.size
    nw = max(STRIDE * 4, round(w * HEIGHT / max(h, 1)))
    if squeeze:
        nw = min(nw, MAX_WIDTH)
    img = img.resize((nw, HEIGHT), Image.BICUBIC)
    width = -(-nw // STRIDE) * STRIDE
    a = np.ones((HEIGHT, width), dtype=np.float32)
    a[:, :nw] = np.asarray(img, dtype=np.float32) / 255.0
    return a


def augment(img, rng):
    """Handwriting's own variation: slant, rotation, scale, stroke width, contrast, noise."""
    w, h = img.size
    if rng.random() < 0.7:  # slant (shear) and a small rotation
        shear = rng.uniform(-0.35, 0.35)
        angle = math.radians(rng.uniform(-2.0, 2.0))
        pad = int(abs(shear) * h) + 2
        canvas = Image.new("L", (w + 2 * pad, h), 255)
        canvas.paste(img, (pad, 0))
        c, s = math.cos(angle), math.sin(angle)
        cx, cy = canvas.size[0] / 2, h / 2
        # inverse map: output (x, y) ← input
        a, b = c, s + shear
        d, e = -s, c
        img = canvas.transform(canvas.size, Image.AFFINE, (a, b, cx - a * cx - b * cy, d, e, cy - d * cx - e * cy), Image.BILINEAR, fillcolor=255)
        w, h = img.size
    if rng.random() < 0.5:  # width and vertical margins
        img = img.resize((max(8, int(w * rng.uniform(0.8, 1.2))), h), Image.BILINEAR)
        w = img.size[0]
        top, bottom = int(h * rng.uniform(-0.08, 0.15)), int(h * rng.uniform(-0.08, 0.15))
        canvas = Image.new("L", (w, max(8, h + top + bottom)), 255)
        canvas.paste(img, (0, top))
        img = canvas
    r = rng.random()
    if r < 0.15:
        img = img.filter(ImageFilter.MinFilter(3))  # thicker strokes
    elif r < 0.3:
        img = img.filter(ImageFilter.MaxFilter(3))  # thinner strokes
    a = np.asarray(img, dtype=np.float32)
    if rng.random() < 0.5:  # contrast and brightness
        lo, hi = rng.uniform(0, 90), rng.uniform(180, 255)
        a = lo + a * (hi - lo) / 255.0
    if rng.random() < 0.4:
        a = a + np.random.default_rng(rng.getrandbits(32)).normal(0, rng.uniform(2, 14), a.shape)
    img = Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))
    if rng.random() < 0.2:
        img = img.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.0)))
    return img


def read_labels(paths, classes):
    """(image at twice the input height, text, class indices) per line."""
    lines = []
    for labels in paths:
        root = os.path.dirname(os.path.abspath(labels))
        with open(labels, encoding="utf-8") as f:
            for n, row in enumerate(f, 1):
                row = row.rstrip("\n")
                if not row.strip():
                    continue
                path, _, text = row.partition("\t")
                text = unicodedata.normalize("NFC", text.strip()).translate(LOOKALIKE)
                if not text:
                    continue
                try:
                    img = stretch(Image.open(os.path.join(root, path)).convert("L"))
                except Exception as e:  # noqa: BLE001 - any unreadable image is named
                    fail("%s line %d: %s: %s" % (labels, n, path, e))
                w, h = img.size
                img = img.resize((max(8, round(w * 2 * HEIGHT / max(h, 1))), 2 * HEIGHT), Image.BICUBIC)
                missing = sorted({c for c in text if c not in classes})
                if missing:
                    fail("%s line %d: the model's vocabulary lacks %s" % (labels, n, " ".join(repr(c) for c in missing)))
                lines.append((img, text, [classes[c] for c in text]))
    return lines


def batches(lines, size, rng):
    """Lines of similar width together, the batches in a random order."""
    order = sorted(range(len(lines)), key=lambda i: lines[i][0].size[0] * rng.uniform(0.9, 1.1))
    out = [order[i:i + size] for i in range(0, len(order), size)]
    rng.shuffle(out)
    return out


def stack(imgs):
    arrays = [to_input(i) for i in imgs]
    width = max(a.shape[1] for a in arrays)
    x = np.ones((len(arrays), 3, HEIGHT, width), dtype=np.float32)
    for k, a in enumerate(arrays):
        x[k, :, :, : a.shape[1]] = a
    return torch.from_numpy(x), [a.shape[1] // STRIDE for a in arrays]


def greedy(log_probs, frames, chars):
    best = log_probs.argmax(-1).T.tolist()
    out = []
    for seq, n in zip(best, frames):
        s, prev = [], 0
        for c in seq[:n]:
            if c != prev and c != 0:
                s.append(chars[c])
            prev = c
        out.append("".join(s))
    return out


def edit_distance(a, b):
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (ca != cb))
    return row[-1]


def evaluate(net, lines, chars, size=16):
    net.eval()
    errors = total = 0
    with torch.no_grad():
        order = sorted(range(len(lines)), key=lambda i: lines[i][0].size[0])
        for k in range(0, len(order), size):
            batch = [lines[i] for i in order[k:k + size]]
            x, frames = stack([b[0] for b in batch])
            for got, (_, text, _) in zip(greedy(net(x), frames, chars), batch):
                errors += edit_distance(got, text)
                total += len(text)
    return errors / max(total, 1)


# ---------------------------------------------------------------- training


def save_atomic(obj, path):
    tmp = path + ".part"
    if isinstance(obj, onnx.ModelProto):
        onnx.save(obj, tmp)
    else:
        torch.save(obj, tmp)
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, path)


def data_hash(lines, args):
    h = hashlib.sha256()
    for img, text, _ in lines:
        h.update(text.encode())
        h.update(img.tobytes()[:4096])
    h.update(("%s %s %s %s" % (args.seed, args.batch, args.freeze, args.lr)).encode())
    return h.hexdigest()


def train(args):
    torch.manual_seed(args.seed)
    threads = args.threads or os.cpu_count() or 1
    if os.environ.get("OMP_THREAD_LIMIT", "").isdigit():  # more threads than OpenMP allows compute NaN
        threads = min(threads, int(os.environ["OMP_THREAD_LIMIT"]) or 1)
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True, warn_only=True)
    base = onnx.load(args.base)
    with open(os.path.join(os.path.dirname(os.path.abspath(args.base)), "vocab.json"), encoding="utf-8") as f:
        chars = json.load(f)["chars"]
    classes = {c: i for i, c in enumerate(chars) if i > 0}
    lines = read_labels(args.data, classes)
    rng = random.Random(args.seed)
    if args.val:
        val = read_labels(args.val, classes)
    else:  # a tenth of the lines, never trained on
        idx = list(range(len(lines)))
        rng.shuffle(idx)
        cut = max(1, len(lines) // 10)
        val = [lines[i] for i in sorted(idx[:cut])]
        lines = [lines[i] for i in sorted(idx[cut:])]
    if args.limit:
        lines = lines[: args.limit]
    kept = read_labels(args.keep, classes) if args.keep else []  # trained on, never validated
    lines = lines + kept
    if not lines or not val:
        fail("no training lines (or no validation lines) in the data given")
    device = torch.device("cuda" if torch.cuda.is_available() and not args.cpu else "cpu")
    net = LineNet(base).to(device)
    net.freeze_stages(args.freeze)
    trainable = [p for p in net.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(trainable, lr=args.lr, weight_decay=1e-4)
    steps_per_epoch = -(-len(lines) // args.batch)
    total_steps = steps_per_epoch * args.epochs
    warmup = min(100, total_steps // 10 + 1)

    def lr_at(step):
        if step < warmup:
            return (step + 1) / warmup
        return 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(1.0, (step - warmup) / max(1, total_steps - warmup))))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_at)
    os.makedirs(args.out, exist_ok=True)
    ckpt_path = os.path.join(args.out, "checkpoint.pt")
    state = {"epoch": 0, "step": 0, "history": [], "best": None, "best_epoch": 0, "seconds": 0.0, "hash": data_hash(lines, args)}
    if os.path.exists(ckpt_path) and not args.restart:
        ck = torch.load(ckpt_path, map_location=device, weights_only=False)
        if ck["state"]["hash"] != state["hash"]:
            fail("%s was made from other data or settings: pass --restart to begin again" % ckpt_path)
        net.load_state_dict(ck["net"])
        opt.load_state_dict(ck["opt"])
        sched.load_state_dict(ck["sched"])
        state = ck["state"]
        rng.setstate(ck["rng"])
        torch.set_rng_state(ck["torch_rng"])
        emit(event="resumed", epoch=state["epoch"])
    if state["best"] is None:
        t0 = time.time()
        base_cer = evaluate(net, val, chars)
        state["history"].append({"epoch": 0, "loss": None, "val_cer": base_cer, "seconds": 0.0})
        state["best"] = base_cer
        emit(event="start", lines=len(lines), val_lines=len(val), kept_lines=len(kept), val_cer=base_cer, epochs=args.epochs, steps=steps_per_epoch, device=str(device), frozen=STAGES[: args.freeze], seconds=round(time.time() - t0, 1))
    best_path = os.path.join(args.out, "best.pt")
    started = time.time() - state["seconds"]
    parent = os.getppid()
    out_of_time = False
    while state["epoch"] < args.epochs and not out_of_time:
        epoch = state["epoch"] + 1
        net.train()
        losses = []
        plan = batches(lines, args.batch, rng)
        for k, batch in enumerate(plan):
            if os.getppid() != parent:  # `sohoa train` was killed: so is its trainer
                sys.exit(3)
            aug_rng = random.Random(rng.getrandbits(64))
            imgs = [augment(lines[i][0], aug_rng) if aug_rng.random() < args.augment else lines[i][0] for i in batch]
            x, frames = stack(imgs)
            targets = [lines[i][2] for i in batch]
            lp = net(x.to(device), args.freeze)
            frames = [min(f, lp.shape[0]) for f in frames]
            loss = F.ctc_loss(
                lp, torch.tensor([c for t in targets for c in t]), torch.tensor(frames), torch.tensor([len(t) for t in targets]), zero_infinity=True
            )
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(trainable, 5.0)
            opt.step()
            sched.step()
            state["step"] += 1
            losses.append(loss.item())
            elapsed = time.time() - started
            emit(event="step", epoch=epoch, batch=k + 1, batches=len(plan), loss=round(float(np.mean(losses[-20:])), 4), seconds=round(elapsed, 1))
            if args.max_minutes and elapsed > args.max_minutes * 60:
                out_of_time = True
                break
        cer = evaluate(net, val, chars)
        state["epoch"] = epoch
        state["seconds"] = time.time() - started
        state["history"].append({"epoch": epoch, "loss": float(np.mean(losses)), "val_cer": cer, "seconds": round(state["seconds"], 1), "batches": len(losses)})
        improved = cer < state["best"]
        if improved:
            state["best"], state["best_epoch"] = cer, epoch
            save_atomic(net.state_dict(), best_path)
        save_atomic({"net": net.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict(), "state": state, "rng": rng.getstate(), "torch_rng": torch.get_rng_state()}, ckpt_path)
        emit(event="epoch", epoch=epoch, loss=round(float(np.mean(losses)), 4), val_cer=round(cer, 4), best=improved, seconds=round(state["seconds"], 1), out_of_time=out_of_time)
        if epoch - state["best_epoch"] >= args.patience:
            emit(event="early_stop", epoch=epoch, best_epoch=state["best_epoch"])
            break
    if os.path.exists(best_path):
        net.load_state_dict(torch.load(best_path, map_location=device, weights_only=True))
    net.cpu()
    save_atomic(net.to_onnx(base), os.path.join(args.out, "model.onnx"))
    with open(os.path.join(args.out, "vocab.json.part"), "w", encoding="utf-8") as f:
        json.dump({"chars": chars, "size": len(chars)}, f, ensure_ascii=False, indent=2)
    os.replace(os.path.join(args.out, "vocab.json.part"), os.path.join(args.out, "vocab.json"))
    summary = {"base": os.path.abspath(args.base), "lines": len(lines), "kept_lines": len(kept), "val_lines": len(val), "seed": args.seed, "frozen": STAGES[: args.freeze], "best_epoch": state["best_epoch"], "val_cer": state["best"], "history": state["history"], "seconds": round(state["seconds"], 1), "device": str(device)}
    with open(os.path.join(args.out, "training.json.part"), "w", encoding="utf-8") as f:
        json.dump(summary, f, ensure_ascii=False, indent=2)
    os.replace(os.path.join(args.out, "training.json.part"), os.path.join(args.out, "training.json"))
    emit(event="done", **{k: summary[k] for k in ["best_epoch", "val_cer", "seconds"]}, base_cer=state["history"][0]["val_cer"])


def logits(args):
    net = LineNet(onnx.load(args.model)).eval()
    img = stretch(Image.open(args.image).convert("L"))
    x, frames = stack([img])
    with torch.no_grad():
        lp = net(x)[: frames[0], 0, :]
    emit(event="logits", frames=lp.shape[0], classes=lp.shape[1], log_probs=[round(v, 6) for v in lp.flatten().tolist()])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train")
    t.add_argument("--base", required=True)
    t.add_argument("--out", required=True)
    t.add_argument("--data", nargs="+", required=True)
    t.add_argument("--val", nargs="*")
    t.add_argument("--keep", nargs="*", help="lines trained on and never validated (typed lines sohoa draws)")
    t.add_argument("--epochs", type=int, default=8)
    t.add_argument("--seed", type=int, default=1)
    t.add_argument("--batch", type=int, default=16)
    t.add_argument("--lr", type=float, default=3e-4)
    t.add_argument("--freeze", type=int, default=3)
    t.add_argument("--patience", type=int, default=3)
    t.add_argument("--augment", type=float, default=0.8)
    t.add_argument("--max-minutes", type=float, default=0)
    t.add_argument("--limit", type=int, default=0)
    t.add_argument("--threads", type=int, default=0)
    t.add_argument("--cpu", action="store_true")
    t.add_argument("--restart", action="store_true")
    lg = sub.add_parser("logits")
    lg.add_argument("--model", required=True)
    lg.add_argument("--image", required=True)
    args = ap.parse_args()
    if args.command == "train":
        train(args)
    else:
        logits(args)


if __name__ == "__main__":
    main()
