#!/usr/bin/env python3
"""How far a held-out set is from a training set: held-out molecules whose constitution (the
InChI without its stereo layers /b /t /m /s) is in the training set are stereo variants of
training molecules, not unseen molecules. Given a submission.csv of predictions for the
held-out images (`capflow predict`), also the mean Levenshtein and exact-match rate of each
part, so a score can be read without the overlap.

    python3 bench/heldout_overlap.py TRAIN_DIR HELD_OUT_DIR [SUBMISSION_CSV]
"""
import csv
import os
import re
import sys


def constitution(inchi):
    layers = inchi.split("/")
    return "/".join(layers[:2] + [l for l in layers[2:] if not re.match(r"[btms]", l)])


def labels(directory):
    with open(os.path.join(directory, "train_labels.csv"), newline="") as f:
        return {row["image_id"]: row["InChI"] for row in csv.DictReader(f)}


def levenshtein(a, b):
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__.strip().splitlines()[-1].strip())
    train = {constitution(i) for i in labels(sys.argv[1]).values()}
    held_out = labels(sys.argv[2])
    seen = {image for image, inchi in held_out.items() if constitution(inchi) in train}
    print(f"held-out images: {len(held_out)}; a stereo variant of a training molecule: {len(seen)} "
          f"({100 * len(seen) / max(1, len(held_out)):.1f} %)")
    if len(sys.argv) == 3:
        return
    with open(sys.argv[3], newline="") as f:
        predicted = {row["image_id"]: row["InChI"] for row in csv.DictReader(f)}
    for name, part in (("all", set(held_out)), ("stereo variant of a training molecule", seen),
                       ("constitution unseen in training", set(held_out) - seen)):
        if not part:
            continue
        distances = [levenshtein(predicted.get(i, ""), held_out[i]) for i in part]
        exact = sum(predicted.get(i, "") == held_out[i] for i in part)
        print(f"{name}: {len(part)} images, mean Levenshtein {sum(distances) / len(part):.2f}, "
              f"exact {100 * exact / len(part):.1f} %")


if __name__ == "__main__":
    main()
