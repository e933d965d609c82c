#!/usr/bin/env python3
"""A Kaggle-size labels file over a small made dataset, most of its images missing.

    python3 bench/kaggle_labels.py DATA/train_labels.csv DATA/labels_kaggle.csv ROWS COPIES

writes ROWS rows: the dataset's rows COPIES times each (their images exist), the rest random
12-hex-digit ids whose images do not exist, with InChIs drawn from the dataset; shuffled, the
first row an existing image. Used by the memory figures in docs/benchmarks.md.
"""
import random
import sys


def main(src, out, rows, copies):
    lines = open(src).read().splitlines()
    header, real = lines[0], lines[1:]
    rng = random.Random(7)
    inchis = [line.split(",", 1)[1] for line in real]
    present = real * copies
    all_rows = [None] * (rows - len(present)) + present
    rng.shuffle(all_rows)
    first = next(i for i, r in enumerate(all_rows) if r is not None)
    all_rows[0], all_rows[first] = all_rows[first], all_rows[0]
    with open(out, "w") as f:
        f.write(header + "\n")
        for r in all_rows:
            f.write(r + "\n" if r is not None else "%012x,%s\n" % (rng.getrandbits(48), rng.choice(inchis)))


if __name__ == "__main__":
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
