#!/usr/bin/python3
"""Train Gaussian-Bernoulli RBMs on Fashion-MNIST and measure them.

Trains `ebm train --visible gaussian --whiten pca --learn-sigma` on the
60,000 training images of Debian's dataset-fashion-mnist (pixels scaled
to [0, 1], no binarisation), with 25 and with 500 hidden units. Measures
each with `ebm eval` on the 10,000 test images: exact log Z for 25 hidden
units, AIS for 500. Writes the filters of the 500-unit model as a PNG,
and prints a Markdown table with the seconds per epoch. Two baselines: the
initial model (sigma 1, W near 0), and a model whose sigma alone learns
(learning rate 1e-6 for W and the biases, 0.003 for log sigma), which is
the Gaussian of the whitened data's per-component variances.

Usage: /usr/bin/python3 bench/gaussian_quality.py [--epochs N]
           [--ebm build/tools/ebm] [--workdir DIR] [--filters FILE.png]
           [--json]
Needs a build of libebm and the dataset (scripts/setup.sh --with-peers).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FASHION = "/usr/share/datasets/fashion-mnist"
TRAIN = os.path.join(FASHION, "train-images-idx3-ubyte.gz")
TEST = os.path.join(FASHION, "t10k-images-idx3-ubyte.gz")
LEARNING_RATE = 0.001
SIGMA_FACTOR = 3
SEED = 1

# name, label, hidden units, learning rate, sigma factor, epochs (None:
# --epochs)
MODELS = [
    ("initial", "initial model (sigma 1, W near 0)", 25, "1e-30", "1", 1),
    ("gaussian", "Gaussian: sigma learned, W near 0", 25, "1e-6", "3000",
     None),
    ("gb25", "25 hidden units", 25, str(LEARNING_RATE), str(SIGMA_FACTOR),
     None),
    ("gb500", "500 hidden units", 500, str(LEARNING_RATE),
     str(SIGMA_FACTOR), None),
]


def parse_args():
    """Return the parsed command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=10,
                        help="training epochs (default 10)")
    parser.add_argument("--ebm", default=os.path.join(ROOT, "build", "tools",
                                                      "ebm"),
                        help="the ebm command (default build/tools/ebm)")
    parser.add_argument("--workdir", default=None,
                        help="where to keep the models (default: a "
                             "temporary directory, removed at the end)")
    parser.add_argument("--filters", default=None,
                        help="write the 500-unit model's filters here")
    parser.add_argument("--json", action="store_true",
                        help="also print one JSON object per model")
    return parser.parse_args()


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


def main():
    args = parse_args()
    for path in (TRAIN, TEST):
        if not os.path.exists(path):
            sys.exit(f"{path} not found: scripts/setup.sh --with-peers")
    if not os.access(args.ebm, os.X_OK):
        sys.exit(f"{args.ebm} not found: meson setup build && ninja -C build")
    workdir = args.workdir or tempfile.mkdtemp(prefix="ebm-gaussian-")
    os.makedirs(workdir, exist_ok=True)
    print(f"Fashion-MNIST: 60000 training and 10000 test images in [0, 1]; "
          f"PCA whitening (epsilon 0.01), CD-1, batch 100, learning rate "
          f"{LEARNING_RATE}, log sigma at {SIGMA_FACTOR} times that, seed "
          f"{SEED}, {args.epochs} epochs")
    table = ["| model | test mean log-likelihood (nats per image) | method "
             "| seconds per epoch | evaluation s |",
             "|---|---|---|---|---|"]
    for name, label, hidden, rate, factor, epochs in MODELS:
        model = os.path.join(workdir, f"{name}.npz")
        command = [args.ebm, "train", "--visible", "gaussian", "--whiten",
                   "pca", "--learn-sigma", "--sigma-lr-factor", factor,
                   "--data", TRAIN, "--hidden", str(hidden),
                   "--epochs", str(epochs or args.epochs), "--lr", rate,
                   "--valid-fraction", "0", "--seed", str(SEED),
                   "--singular-values", "--json", "--out", model]
        output, train_seconds = run(command)
        lines = [json.loads(line) for line in output.splitlines()
                 if line.startswith("{")]
        rates = [line["samples_per_sec"] for line in lines[1:]]
        per_epoch = sum(60000 / r for r in rates) / len(rates)
        eval_command = [args.ebm, "eval", "--model", model, "--data", TEST,
                        "--seed", str(SEED), "--json"]
        output, eval_seconds = run(eval_command)
        result = json.loads(output.strip().splitlines()[-1])
        text = f"{result['mean_loglik']:.1f}"
        if result["method"] == "ais":
            worst = result["mean_loglik"] - (result["log_z_high"] -
                                             result["log_z"])
            text += (f" ({worst:.1f} to "
                     f"{result['mean_loglik'] + result['log_z'] - result['log_z_low']:.1f})"
                     if result["log_z_low"] is not None
                     else " (lower bound of log Z unknown)")
        table.append(f"| {label} | {text} | {result['method']} "
                     f"| {per_epoch:.2f} | {eval_seconds:.1f} |")
        if args.json:
            print(json.dumps({"name": name,
                              "training": " ".join(command[1:]),
                              "training_seconds": train_seconds,
                              "seconds_per_epoch": per_epoch,
                              "singular_values_first": lines[0].get(
                                  "singular_values", [])[:5],
                              "singular_values_last": lines[-1].get(
                                  "singular_values", [])[:5],
                              "evaluation": " ".join(eval_command[1:]),
                              "evaluation_seconds": eval_seconds,
                              **result}))
        sys.stdout.flush()
        if name == "gb500" and args.filters:
            run([args.ebm, "filters", "--model", model, "--out",
                 args.filters, "--count", "100"])
    print("\n".join(table))
    if args.workdir is None:
        for entry in os.listdir(workdir):
            os.remove(os.path.join(workdir, entry))
        os.rmdir(workdir)


if __name__ == "__main__":
    main()
