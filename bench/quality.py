#!/usr/bin/python3
"""Train RBMs on the bundled digits and measure their held-out likelihood.

For 25 and 500 hidden units, this script trains libebm RBMs with CD-1 and
with PCD-1 (`ebm train`) and scikit-learn's BernoulliRBM with the same
hidden units, batch size and epochs, saves scikit-learn's weights in the
model format, and measures every model with `ebm eval` on the same held-out
rows: exact log-likelihood for 25 hidden units, AIS with error bars for 500.
It prints a Markdown table and, with --json, one JSON object per model.

The split is fixed: the last 1,000 of the 10,000 bundled digits are held
out (`ebm train --valid-fraction 0.1`), binarised at 0.5.

Usage: /usr/bin/python3 bench/quality.py [--epochs N] [--hidden 25,500]
           [--ebm build/tools/ebm] [--workdir DIR] [--json]
Needs Debian's python3-numpy and python3-sklearn (scripts/setup.sh
--with-peers) and a build of libebm (meson setup build && ninja -C build).
"""
import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "data", "mnist-10k", "images-idx3-ubyte.gz")
VALID_ROWS = 1000
BATCH = 100
LEARNING_RATE = 0.05
SEED = 1


def parse_args():
    """Return the parsed command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=20,
                        help="training epochs of every model (default 20)")
    parser.add_argument("--hidden", default="25,500",
                        help="comma-separated hidden unit counts")
    parser.add_argument("--ebm", default=os.path.join(ROOT, "build", "tools",
                                                      "ebm"),
                        help="the ebm command (default build/tools/ebm)")
    parser.add_argument("--workdir", default=None,
                        help="where to keep the models (default: a "
                             "temporary directory, removed at the end)")
    parser.add_argument("--json", action="store_true",
                        help="also print one JSON object per model")
    return parser.parse_args()


def read_idx(path):
    """Return the rows of an IDX image file as a float32 array in [0, 1]."""
    import numpy
    with gzip.open(path, "rb") as handle:
        raw = handle.read()
    if raw[:4] != b"\x00\x00\x08\x03":
        sys.exit(f"{path}: not an IDX file of unsigned bytes with 3 "
                 "dimensions")
    rows, height, width = (int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big")
                           for i in range(3))
    pixels = numpy.frombuffer(raw, dtype=numpy.uint8, offset=16)
    return pixels.reshape(rows, height * width).astype(numpy.float32) / 255.0


def run(command):
    """Run a command, return (stdout, seconds); exit on failure."""
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True,
                            check=False)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"command failed ({result.returncode}): "
                 f"{' '.join(command)}\n{result.stderr}")
    return result.stdout, seconds


def train_libebm(args, hidden, method, model, log_path):
    """Train with `ebm train`; return the command and its seconds."""
    command = [args.ebm, "train", "--data", DATA, "--hidden", str(hidden),
               "--epochs", str(args.epochs), "--batch", str(BATCH),
               "--lr", str(LEARNING_RATE), f"--{method}", "1",
               "--seed", str(SEED), "--valid-fraction", "0.1",
               "--json", "--out", model]
    output, seconds = run(command)
    with open(log_path, "w", encoding="utf-8") as handle:
        handle.write(output)
    return command, seconds


def train_sklearn(args, hidden, train_rows, model):
    """Train scikit-learn's BernoulliRBM and save it in the model format;
    return a description of the call and its seconds."""
    import numpy
    from sklearn.neural_network import BernoulliRBM
    rbm = BernoulliRBM(n_components=hidden, learning_rate=LEARNING_RATE,
                       batch_size=BATCH, n_iter=args.epochs,
                       random_state=SEED)
    start = time.perf_counter()
    rbm.fit(train_rows)
    seconds = time.perf_counter() - start
    numpy.savez(model, format_version=numpy.int32(1),
                W=rbm.components_.T.astype(numpy.float32),
                visible_bias=rbm.intercept_visible_.astype(numpy.float32),
                hidden_bias=rbm.intercept_hidden_.astype(numpy.float32))
    call = (f"BernoulliRBM(n_components={hidden}, learning_rate="
            f"{LEARNING_RATE}, batch_size={BATCH}, n_iter={args.epochs}, "
            f"random_state={SEED}).fit(first 9,000 digits)")
    return call, seconds


def evaluate(args, hidden, model, valid_path):
    """Run `ebm eval` on the held-out rows; return its JSON and seconds."""
    method = "exact" if hidden <= 25 else "ais"
    command = [args.ebm, "eval", "--model", model, "--data", valid_path,
               "--method", method, "--seed", str(SEED), "--json"]
    if method == "ais":
        command += ["--reverse"]
    output, seconds = run(command)
    return json.loads(output.strip().splitlines()[-1]), command, seconds


def write_idx(path, rows):
    """Write binary rows of 784 pixels as an IDX file of 28 x 28 bytes."""
    import numpy
    header = (b"\x00\x00\x08\x03" + len(rows).to_bytes(4, "big") +
              (28).to_bytes(4, "big") + (28).to_bytes(4, "big"))
    with open(path, "wb") as handle:
        handle.write(header)
        handle.write((rows * 255).astype(numpy.uint8).tobytes())


def format_loglik(result):
    """Return the held-out log-likelihood with its AIS range if any."""
    text = f"{result['mean_loglik']:.2f}"
    if result["method"] == "ais":
        low = result.get("log_z_low")
        high = result.get("log_z_high")
        # A higher log Z means a lower log-likelihood.
        worst = (result["mean_loglik"] - (high - result["log_z"])
                 if high is not None else None)
        best = (result["mean_loglik"] + (result["log_z"] - low)
                if low is not None else None)
        text += (f" ({worst:.2f} to {best:.2f})" if worst is not None and
                 best is not None else " (lower bound of log Z unknown)")
    return text


def main():
    args = parse_args()
    try:
        import numpy  # noqa: F401
        import sklearn  # noqa: F401
    except ImportError:
        sys.exit("needs python3-numpy and python3-sklearn: "
                 "scripts/setup.sh --with-peers")
    if not os.access(args.ebm, os.X_OK):
        sys.exit(f"{args.ebm} not found: meson setup build && ninja -C build")

    digits = (read_idx(DATA) >= 0.5).astype("float32")
    train_rows, valid_rows = digits[:-VALID_ROWS], digits[-VALID_ROWS:]
    workdir = args.workdir or tempfile.mkdtemp(prefix="ebm-quality-")
    os.makedirs(workdir, exist_ok=True)
    valid_path = os.path.join(workdir, "valid-idx3-ubyte")
    write_idx(valid_path, valid_rows)

    print(f"bundled digits: {len(train_rows)} training and {len(valid_rows)} "
          f"held-out rows, binarised at 0.5; {args.epochs} epochs, batch "
          f"{BATCH}, learning rate {LEARNING_RATE}, seed {SEED}")
    table = ["| hidden | trainer | held-out mean log-likelihood (nats) "
             "| method | training s | evaluation s |",
             "|---|---|---|---|---|---|"]
    for hidden in (int(h) for h in args.hidden.split(",")):
        for trainer in ("cd", "pcd", "sklearn"):
            model = os.path.join(workdir, f"{trainer}-{hidden}.npz")
            if trainer == "sklearn":
                call, train_seconds = train_sklearn(args, hidden,
                                                    train_rows, model)
            else:
                command, train_seconds = train_libebm(
                    args, hidden, trainer, model,
                    os.path.join(workdir, f"{trainer}-{hidden}.log"))
                call = " ".join(command[1:])
            result, eval_command, eval_seconds = evaluate(
                args, hidden, model, valid_path)
            name = {"cd": "libebm CD-1", "pcd": "libebm PCD-1",
                    "sklearn": "scikit-learn PCD-1"}[trainer]
            table.append(f"| {hidden} | {name} | {format_loglik(result)} "
                         f"| {result['method']} | {train_seconds:.1f} "
                         f"| {eval_seconds:.1f} |")
            if args.json:
                print(json.dumps({"hidden": hidden, "trainer": trainer,
                                  "training": call,
                                  "training_seconds": train_seconds,
                                  "evaluation": " ".join(eval_command[1:]),
                                  "evaluation_seconds": eval_seconds,
                                  **result}))
            sys.stdout.flush()
    print("\n".join(table))
    if args.workdir is None:
        for name in os.listdir(workdir):
            os.remove(os.path.join(workdir, name))
        os.rmdir(workdir)


if __name__ == "__main__":
    main()
