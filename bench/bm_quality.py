#!/usr/bin/python3
"""Train general Boltzmann machines on the bundled digits and measure them.

Uses the split and settings of bench/quality.py: the last 1,000 of the
10,000 bundled digits are held out, binarised at 0.5. `ebm train` trains
a fully visible BM (V only), a fully visible BM with V on the 28 x 28
lattice, a BM with 100 hidden units and W, V and U, and an RBM with 100
hidden units. Each is measured by `ebm eval` with AIS on the
held-out rows: the fully visible models and the RBM get a log-likelihood,
the BM with hidden units the mean-field lower bound. Prints a Markdown
table and, with --json, one JSON object per model.

Usage: /usr/bin/python3 bench/bm_quality.py [--epochs N] [--ais-betas N]
           [--ebm build/tools/ebm] [--workdir DIR] [--json]
Needs a build of libebm (meson setup build && ninja -C build); NumPy is
not needed.
"""
import argparse
import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import quality  # noqa: E402  (the same data, split and helpers)

LEARNING_RATE = 0.01

MODELS = [
    ("fvbm", "fully visible BM (V)",
     ["--model", "bm", "--hidden", "0", "--lateral", "visible"]),
    ("lattice", "fully visible BM (V on the 28 x 28 lattice)",
     ["--model", "bm", "--hidden", "0", "--lateral", "visible",
      "--lattice", "28x28"]),
    ("bm100", "BM, 100 hidden (W, V, U)",
     ["--model", "bm", "--hidden", "100", "--lateral", "both"]),
    ("rbm100", "RBM, 100 hidden (W)", ["--hidden", "100"]),
]


def parse_args():
    """Return the parsed command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=20,
                        help="training epochs of every model (default 20)")
    parser.add_argument("--ais-betas", type=int, default=14500,
                        help="AIS inverse temperatures (default 14500)")
    parser.add_argument("--ebm", default=os.path.join(quality.ROOT, "build",
                                                      "tools", "ebm"),
                        help="the ebm command (default build/tools/ebm)")
    parser.add_argument("--workdir", default=None,
                        help="where to keep the models (default: a "
                             "temporary directory, removed at the end)")
    parser.add_argument("--json", action="store_true",
                        help="also print one JSON object per model")
    return parser.parse_args()


def held_out_rows(workdir):
    """Write the last 1,000 digits as an IDX file; return its path."""
    import gzip
    with gzip.open(quality.DATA, "rb") as handle:
        raw = handle.read()
    rows, size = 10000, 784
    if len(raw) != 16 + rows * size:
        sys.exit(f"{quality.DATA}: expected {rows} images of {size} bytes")
    first = rows - quality.VALID_ROWS
    header = (raw[:4] + quality.VALID_ROWS.to_bytes(4, "big") + raw[8:16])
    path = os.path.join(workdir, "valid-idx3-ubyte")
    with open(path, "wb") as handle:
        handle.write(header + raw[16 + first * size:])
    return path


def main():
    args = parse_args()
    if not os.access(args.ebm, os.X_OK):
        sys.exit(f"{args.ebm} not found: meson setup build && ninja -C build")
    workdir = args.workdir or tempfile.mkdtemp(prefix="ebm-bm-quality-")
    os.makedirs(workdir, exist_ok=True)
    valid_path = held_out_rows(workdir)
    print(f"bundled digits: 9000 training and {quality.VALID_ROWS} held-out "
          f"rows, binarised at 0.5; {args.epochs} epochs of PCD-1, batch "
          f"{quality.BATCH}, learning rate {LEARNING_RATE}, seed "
          f"{quality.SEED}; AIS with 100 chains and {args.ais_betas} "
          "inverse temperatures")
    table = ["| model | held-out mean log-likelihood (nats) | kind "
             "| log Z | training s | evaluation s |",
             "|---|---|---|---|---|---|"]
    for name, label, options in MODELS:
        model = os.path.join(workdir, f"{name}.npz")
        command = [args.ebm, "train", "--data", quality.DATA,
                   "--epochs", str(args.epochs), "--batch",
                   str(quality.BATCH), "--lr", str(LEARNING_RATE),
                   "--pcd", "1", "--seed", str(quality.SEED),
                   "--valid-fraction", "0.1", "--json", "--out",
                   model] + options
        output, train_seconds = quality.run(command)
        with open(os.path.join(workdir, f"{name}.log"), "w",
                  encoding="utf-8") as handle:
            handle.write(output)
        eval_command = [args.ebm, "eval", "--model", model, "--data",
                        valid_path, "--method", "ais", "--ais-betas",
                        str(args.ais_betas), "--seed", str(quality.SEED),
                        "--json"]
        output, eval_seconds = quality.run(eval_command)
        result = json.loads(output.strip().splitlines()[-1])
        kind = result.get("mean_loglik_kind", "exact")
        table.append(f"| {label} | {quality.format_loglik(result)} | {kind} "
                     f"| {result['log_z']:.2f} | {train_seconds:.1f} "
                     f"| {eval_seconds:.1f} |")
        if args.json:
            print(json.dumps({"name": name,
                              "training": " ".join(command[1:]),
                              "training_seconds": train_seconds,
                              "evaluation": " ".join(eval_command[1:]),
                              "evaluation_seconds": eval_seconds,
                              **result}))
        sys.stdout.flush()
    print("\n".join(table))
    if args.workdir is None:
        for entry in os.listdir(workdir):
            os.remove(os.path.join(workdir, entry))
        os.rmdir(workdir)


if __name__ == "__main__":
    main()
