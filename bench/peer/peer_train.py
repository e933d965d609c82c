#!/usr/bin/python3
"""The PyTorch peer of capflow's training pipeline, for a like-for-like throughput comparison.

Same architecture (ResNet-18 with a 1-channel stem, or its first --stages stages at stem width
--width, + Show-Attend-Tell attention LSTM: --embed, --hidden, --attention, and the auxiliary
formula head with --formula-hidden and atom head with --atom-classes; or with --decoder
transformer, capflow's transformer_decoder: --hidden wide, --layers, --heads, --ffn, written
with PyTorch's nn.TransformerDecoder; captions in --target
notation, InChI or the maker's SMILES; the caption loss's --label-smoothing; compare.sh passes
what the pipeline sets), batch size, image size, precision (bf16 autocast with
channels-last, or fp32), optimizer (Adam) and image files (a BMS-layout dataset made by
`capflow data make`), read through a DataLoader (PIL decode, aspect-preserving resize with
padding) with worker processes, written the way a PyTorch user would. Run with Debian's
python3-torch:

    /usr/bin/python3 bench/peer/peer_train.py --data data/demo --steps 12 --threads 2

Prints one JSON object: images_per_second over the timed steps (after --warmup steps), the
per-step losses, and the settings.
"""
import argparse
import csv
import json
import math
import os
import re
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

TOKEN = re.compile(r"/[a-z]|[A-Z][a-z]?|\d+|.")  # layer prefixes, elements, numbers, punctuation
# SMILES atom by atom, as capflow's smiles_tokenizer: bracket atoms, Cl, Br, %nn, single characters.
SMILES_TOKEN = re.compile(r"\[[^\]]*\]|Cl|Br|%\d\d|.")


def tokenize(inchi):
    return TOKEN.findall(inchi[len("InChI=1S/"):])


def tokenize_smiles(smiles):
    return SMILES_TOKEN.findall(smiles)


class BmsDataset(torch.utils.data.Dataset):
    def __init__(self, root, size, vocab=None, target="inchi"):
        # The captions: InChI labels, or (target smiles) the maker's train_smiles.csv.
        labels = "train_smiles.csv" if target == "smiles" else "train_labels.csv"
        if not os.path.exists(os.path.join(root, labels)):
            sys.exit(f"peer: {os.path.join(root, labels)} is missing (SMILES captions come from the "
                     "file `capflow data make` writes; capflow itself would convert the InChI labels)")
        with open(os.path.join(root, labels), newline="") as f:
            rows = list(csv.reader(f))[1:]
        self.items = [(os.path.join(root, "train", i[0], i[1], i[2], i + ".png"), text) for i, text in rows]
        self.tokenize = tokenize_smiles if target == "smiles" else tokenize
        self.size = size
        if vocab is None:
            tokens = sorted({t for _, text in self.items for t in self.tokenize(text)})
            vocab = ["<pad>", "<sos>", "<eos>", "<unk>"] + tokens
        self.vocab = {t: i for i, t in enumerate(vocab)}

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        path, inchi = self.items[i]
        img = Image.open(path).convert("L")
        w, h = img.size
        if h > w:  # upright, as capflow's bms_augment
            img = img.transpose(Image.Transpose.ROTATE_90)
            w, h = h, w
        scale = min(self.size / w, self.size / h)
        nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
        canvas = Image.new("L", (self.size, self.size), 255)
        canvas.paste(img.resize((nw, nh), Image.Resampling.BOX), ((self.size - nw) // 2, (self.size - nh) // 2))
        x = (255.0 - torch.frombuffer(bytearray(canvas.tobytes()), dtype=torch.uint8).float()) / 255.0
        ids = [1] + [self.vocab.get(t, 3) for t in self.tokenize(inchi)] + [2]
        return x.view(1, self.size, self.size), torch.tensor(ids)


def collate(batch):
    xs, ys = zip(*batch)
    return torch.stack(xs), nn.utils.rnn.pad_sequence(ys, batch_first=True, padding_value=0)


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(y + (x if self.downsample is None else self.downsample(x)))


class ResNet18(nn.Module):
    """capflow's resnet_encoder: the first `stages` stages of ResNet-18, stem width `width`."""

    def __init__(self, stages=4, width=64):
        super().__init__()
        self.conv1 = nn.Conv2d(1, width, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        layers, cin = [], width
        for s in range(stages):
            cout, stride = width << s, (1 if s == 0 else 2)
            layers.append(nn.Sequential(BasicBlock(cin, cout, stride), BasicBlock(cout, cout, 1)))
            cin = cout
        self.layers = nn.Sequential(*layers)
        self.channels = cin

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 3, 2, 1)
        return self.layers(x)


class AttentionDecoder(nn.Module):
    def __init__(self, vocab, embed=256, hidden=512, attention=256, channels=512, dropout=0.5, formula_hidden=0,
                 atom_classes=0):
        super().__init__()
        self.embedding = nn.Embedding(vocab, embed)
        self.enc_att = nn.Linear(channels, attention)
        self.dec_att = nn.Linear(hidden, attention)
        self.full_att = nn.Linear(attention, 1)
        self.init_h = nn.Linear(channels, hidden)
        self.init_c = nn.Linear(channels, hidden)
        self.f_beta = nn.Linear(hidden, channels)
        self.lstm = nn.LSTMCell(embed + channels, hidden)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(hidden, vocab)
        # capflow's formula head (attention_lstm formula_loss > 0): atom counts from pooled features
        self.formula_head = (nn.Sequential(nn.Linear(2 * channels, formula_hidden), nn.ReLU(),
                                           nn.Linear(formula_hidden, 13)) if formula_hidden else None)
        # capflow's atom head (attention_lstm atom_loss > 0): an element class per grid cell
        self.atom_head = nn.Linear(channels, atom_classes) if atom_classes else None

    def formula(self, features):
        feats = features.flatten(2)
        return self.formula_head(torch.cat([feats.mean(2), feats.amax(2)], 1)).float()

    def atoms(self, features):
        return self.atom_head(features.flatten(2).transpose(1, 2)).float()  # [N, P, K]

    def forward(self, features, tokens):
        feats = features.flatten(2).transpose(1, 2)  # [N, P, C]
        enc = self.enc_att(feats)
        mean = feats.mean(1)
        h, c = self.init_h(mean), self.init_c(mean)
        emb = self.embedding(tokens)
        outs = []
        for t in range(tokens.size(1) - 1):
            alpha = torch.softmax(self.full_att(torch.tanh(enc + self.dec_att(h).unsqueeze(1))).squeeze(2), 1)
            context = torch.sigmoid(self.f_beta(h)) * (alpha.unsqueeze(2) * feats).sum(1)
            h, c = self.lstm(torch.cat([emb[:, t], context], 1), (h, c))
            outs.append(self.fc(self.dropout(h)))
        return torch.stack(outs, 1)


def sinusoid(positions, dim):
    """capflow's sinusoid_positions: column 2i sin(p / 10000^(2i/dim)), column 2i+1 its cosine."""
    rates = torch.exp(torch.arange(0, dim, 2).float() * (-math.log(10000.0) / dim))
    angles = positions.float().unsqueeze(1) * rates.unsqueeze(0)
    return torch.stack([angles.sin(), angles.cos()], 2).reshape(len(positions), dim)


class TransformerCaptionDecoder(nn.Module):
    """capflow's transformer_decoder: memory = Linear(C -> d)(features) + 2-D sinusoid; tokens
    embedded x sqrt(d) + 1-D sinusoid; pre-norm layers (causal self-attention, cross-attention,
    ReLU feed-forward); final LayerNorm; output layer."""

    def __init__(self, vocab, hidden=256, layers=3, heads=8, ffn=1024, channels=512, dropout=0.1):
        super().__init__()
        self.d = hidden
        self.embedding = nn.Embedding(vocab, hidden)
        nn.init.normal_(self.embedding.weight, 0.0, hidden ** -0.5)
        self.memory_proj = nn.Linear(channels, hidden)
        layer = nn.TransformerDecoderLayer(hidden, heads, ffn, dropout, batch_first=True, norm_first=True)
        self.layers = nn.TransformerDecoder(layer, layers, norm=nn.LayerNorm(hidden))
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(hidden, vocab)
        self.formula_head = self.atom_head = None  # capflow's transformer has neither head

    def forward(self, features, tokens):
        n, _, h, w = features.shape
        d = self.d
        grid = torch.cat([sinusoid(torch.arange(h), d // 2).unsqueeze(1).expand(h, w, d // 2),
                          sinusoid(torch.arange(w), d // 2).unsqueeze(0).expand(h, w, d // 2)], 2)
        memory = self.memory_proj(features.flatten(2).transpose(1, 2)) + grid.reshape(h * w, d)
        steps = tokens.size(1) - 1
        x = self.embedding(tokens[:, :steps]) * math.sqrt(d) + sinusoid(torch.arange(steps), d)
        mask = torch.full((steps, steps), float("-inf")).triu(1)
        return self.fc(self.layers(self.dropout(x), memory, tgt_mask=mask))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", required=True)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--target", choices=["inchi", "smiles"], default="inchi",
                   help="what the captioner writes (capflow's batch node target)")
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--precision", choices=["bf16", "fp32"], default="bf16")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--steps", type=int, default=10, help="timed steps")
    p.add_argument("--warmup", type=int, default=2, help="untimed steps first")
    p.add_argument("--freeze", action="store_true", help="frozen encoder (eval mode, no gradients)")
    p.add_argument("--stages", type=int, default=4, help="encoder stages (capflow resnet_encoder stages)")
    p.add_argument("--width", type=int, default=64, help="encoder stem width (resnet_encoder width)")
    p.add_argument("--embed", type=int, default=256)
    p.add_argument("--hidden", type=int, default=512)
    p.add_argument("--attention", type=int, default=256)
    p.add_argument("--decoder", choices=["attention_lstm", "transformer_decoder"], default="attention_lstm",
                   help="capflow's decoder node kind")
    p.add_argument("--layers", type=int, default=3, help="transformer_decoder layers")
    p.add_argument("--heads", type=int, default=8, help="transformer_decoder heads")
    p.add_argument("--ffn", type=int, default=1024, help="transformer_decoder feed-forward units")
    p.add_argument("--dropout", type=float, default=None,
                   help="the decoder's dropout (default: 0.5 for the LSTM, 0.1 for the transformer)")
    p.add_argument("--formula-hidden", type=int, default=0,
                   help="formula head size (attention_lstm formula_hidden when formula_loss > 0; 0: none)")
    p.add_argument("--atom-classes", type=int, default=0,
                   help="atom head classes (12 when attention_lstm's atom_loss > 0; 0: none)")
    p.add_argument("--label-smoothing", type=float, default=0.0,
                   help="the caption loss's label smoothing (attention_lstm label_smoothing)")
    p.add_argument("--profile", action="store_true",
                   help="profile the timed steps and report the seconds per step spent in convolutions "
                        "(forward and backward), the part of the step that capflow runs in the same oneDNN kernels")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(42)
    data = BmsDataset(a.data, a.size, target=a.target)
    loader = torch.utils.data.DataLoader(data, batch_size=a.batch, shuffle=True, num_workers=a.workers,
                                         collate_fn=collate, drop_last=True, persistent_workers=a.workers > 0)
    encoder = ResNet18(a.stages, a.width)
    if a.decoder == "transformer_decoder":
        decoder = TransformerCaptionDecoder(len(data.vocab), a.hidden, a.layers, a.heads, a.ffn, encoder.channels,
                                            0.1 if a.dropout is None else a.dropout)
    else:
        decoder = AttentionDecoder(len(data.vocab), a.embed, a.hidden, a.attention, encoder.channels,
                                   0.5 if a.dropout is None else a.dropout,
                                   formula_hidden=a.formula_hidden, atom_classes=a.atom_classes)
    channels_last = a.precision == "bf16"
    if channels_last:
        encoder = encoder.to(memory_format=torch.channels_last)
    params = list(decoder.parameters())
    if a.freeze:
        encoder.eval()
        encoder.requires_grad_(False)
    else:
        params += list(encoder.parameters())
    opt = torch.optim.Adam(params, lr=3e-4)
    losses, t0, done, profiler = [], None, 0, None
    while done < a.warmup + a.steps:
        for x, y in loader:
            if done == a.warmup:
                if a.profile:
                    profiler = torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU])
                    profiler.__enter__()
                t0 = time.perf_counter()
            if channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=a.precision == "bf16"):
                with torch.no_grad() if a.freeze else torch.enable_grad():
                    features = encoder(x)
                logits = decoder(features, y)
                loss = F.cross_entropy(logits.float().reshape(-1, logits.size(-1)), y[:, 1:].reshape(-1),
                                       ignore_index=0, label_smoothing=a.label_smoothing)
                if decoder.formula_head is not None:  # the same work as capflow's head (targets do not matter here)
                    loss = loss + F.mse_loss(decoder.formula(features), torch.zeros(x.size(0), 13))
                if decoder.atom_head is not None:  # likewise: the head's work, with empty cells as targets
                    cells = decoder.atoms(features)
                    loss = loss + F.cross_entropy(cells.reshape(-1, cells.size(-1)),
                                                  torch.zeros(cells.size(0) * cells.size(1), dtype=torch.long))
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
            done += 1
            if done == a.warmup + a.steps:
                break
    seconds = time.perf_counter() - t0
    profile = {}
    if profiler is not None:
        profiler.__exit__(None, None, None)
        conv_ops = ("aten::mkldnn_convolution", "aten::convolution_backward")
        conv = sum(e.self_cpu_time_total for e in profiler.key_averages() if e.key in conv_ops) / 1e6
        profile = {"profile": {"step_seconds": seconds / a.steps, "convolution_seconds_per_step": conv / a.steps,
                               "convolution_share": conv / seconds, "note": "with the profiler's own overhead"}}
    json.dump({**profile, "peer": "pytorch " + torch.__version__, "images_per_second": a.steps * a.batch / seconds,
               "seconds": seconds, "steps": a.steps, "batch": a.batch, "size": a.size, "precision": a.precision,
               "threads": a.threads, "workers": a.workers, "freeze": a.freeze, "stages": a.stages, "width": a.width,
               "decoder": a.decoder, "layers": a.layers, "heads": a.heads, "ffn": a.ffn,
               "embed": a.embed, "hidden": a.hidden, "attention": a.attention, "formula_hidden": a.formula_hidden,
               "atom_classes": a.atom_classes, "label_smoothing": a.label_smoothing, "losses": losses}, sys.stdout)
    print()


if __name__ == "__main__":
    main()
