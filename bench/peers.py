#!/usr/bin/python3
"""Compare one RBM training epoch of libebm with scikit-learn and PyTorch.

Three implementations train a binary RBM with 500 hidden units on the same
binarised images, 100 rows per batch, for one epoch:

  sklearn  scikit-learn's BernoulliRBM.fit (PCD-1, the only method it has),
           learning rate 0.05. Given float32 input, scikit-learn 1.2 keeps
           its parameters and products in float32, but draws its uniform
           random numbers in float64.
  torch    a plain PyTorch CD-1 loop in float32 on the CPU, with momentum
           0.5, learning rate 0.05 and weight decay 0.0001.
  libebm   build/bench/ebm-bench --epoch, which reports CD-1, PCD-1 or both.

Every measurement runs in a fresh subprocess whose OMP_NUM_THREADS,
MKL_NUM_THREADS and OPENBLAS_NUM_THREADS are set to the thread count, so
that no library's thread settings leak into another's. The subprocess
loads the data before it starts the clock, and for the two peers it also
runs one warm-up batch first, so the time covers the epoch only. ebm-bench
runs no warm-up, so its first epoch (CD-1) also starts libebm's OpenMP
threads. Rounds
alternate the implementations and thread counts, so that drift in the
speed of a shared machine affects all of them alike. The script prints
samples per second (median, minimum and maximum over rounds) and the
ratios libebm / scikit-learn (PCD-1 against PCD-1) and libebm / PyTorch
(CD-1 against CD-1).

Run it with Debian's /usr/bin/python3, which has python3-numpy,
python3-sklearn and python3-torch:

    /usr/bin/python3 bench/peers.py --data \\
        /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz
"""

import argparse
import datetime
import gzip
import importlib
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = REPO_ROOT / "data" / "mnist-10k" / "images-idx3-ubyte.gz"
EBM_BENCH = REPO_ROOT / "build" / "bench" / "ebm-bench"

BATCH_SIZE = 100
HIDDEN_UNITS = 500
LEARNING_RATE = 0.05
MOMENTUM = 0.5
WEIGHT_DECAY = 0.0001
WEIGHT_STDDEV = 0.01
SEED = 42

# Average number of CPUs that other processes (and the hypervisor's steal
# time) may use during a measurement before the run ends with a warning.
# NOTE: a guessed threshold. On the 2-core development machine one other
# busy process (about 1 CPU) made 2-thread epochs 2 to 8 times slower.
BUSY_OTHER_CPUS = 0.25

IDX3_UBYTE_MAGIC = 0x00000803
IMPLEMENTATIONS = ("sklearn", "torch", "libebm")
PEER_MODULES = {"sklearn": "python3-sklearn", "torch": "python3-torch"}
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS",
                    "OPENBLAS_NUM_THREADS")

# Labels of the rows of the summary, in print order. libebm's rows are
# named after the "kernel" key of ebm-bench's output.
SERIES_LABELS = {
    "sklearn": "scikit-learn PCD-1",
    "torch": "PyTorch CD-1",
    "libebm_epoch_cd": "libebm CD-1",
    "libebm_epoch_pcd": "libebm PCD-1",
}
LIBEBM_KERNELS = ("epoch_cd", "epoch_pcd")


class BenchError(Exception):
    """A failure that ends the run with a message and an exit status."""

    def __init__(self, message, status=1):
        super().__init__(message)
        self.status = status


# ---------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------

def read_idx_images(path):
    """Read an IDX file of unsigned bytes with 3 dimensions, gzip or plain.

    Returns a uint8 array of shape (rows, height * width). Raises BenchError
    if the file is missing, is not an idx3-ubyte file, or is truncated.
    """
    import numpy as np

    try:
        with open(path, "rb") as file:
            is_gzip = file.read(2) == b"\x1f\x8b"
        opener = gzip.open if is_gzip else open
        with opener(path, "rb") as file:
            content = file.read()
    except OSError as error:
        raise BenchError(f"cannot read data file {path}: {error}. Choose "
                         "an IDX file with --data.") from error

    if len(content) < 16:
        raise BenchError(f"{path} is too short for an IDX header "
                         f"({len(content)} bytes; expected at least 16)")
    magic, rows, height, width = np.frombuffer(content[:16], dtype=">u4")
    if magic != IDX3_UBYTE_MAGIC:
        raise BenchError(f"{path} has magic 0x{int(magic):08x}; expected "
                         f"0x{IDX3_UBYTE_MAGIC:08x} (3-dimensional IDX of "
                         "unsigned bytes, such as MNIST images)")
    expected = 16 + int(rows) * int(height) * int(width)
    if len(content) < expected:
        raise BenchError(f"{path} is truncated: {len(content)} bytes, but "
                         f"its header declares {expected}")
    pixels = np.frombuffer(content, dtype=np.uint8, count=expected - 16,
                           offset=16)
    return pixels.reshape(int(rows), int(height) * int(width))


def write_idx_images(path, pixels):
    """Write uint8 images of shape (rows, columns) as a plain IDX file.

    Returns nothing. ebm-bench reads it like the original file, so that a
    run with --rows gives libebm the same rows as the peers. Images are
    written as square when columns is a square number, else as 1 x columns.
    """
    import numpy as np

    rows, columns = pixels.shape
    side = int(round(columns ** 0.5))
    height, width = (side, side) if side * side == columns else (1, columns)
    header = np.array([IDX3_UBYTE_MAGIC, rows, height, width], dtype=">u4")
    with open(path, "wb") as file:
        file.write(header.tobytes())
        file.write(np.ascontiguousarray(pixels).tobytes())


def binarize(pixels):
    """Return 0/1 uint8 values: 1 where pixel / 255 >= 0.5.

    That is the threshold libebm applies by default (ebm_data_binarize).
    """
    import numpy as np

    return (pixels >= 128).astype(np.uint8)


def prepare_data(data_path, rows, work_dir):
    """Load the images and write the input files of the subprocesses.

    Returns (rows, columns, binary_path, idx_path): binary_path is a .npy
    file of the binarised rows for the peers, and idx_path the IDX file for
    ebm-bench (the original file unless --rows selects fewer rows).
    """
    import numpy as np

    pixels = read_idx_images(data_path)
    available = pixels.shape[0]
    if rows is None:
        rows = available
    elif rows > available:
        raise BenchError(f"--rows {rows} exceeds the {available} rows of "
                         f"{data_path}")
    pixels = pixels[:rows]

    binary_path = Path(work_dir) / "binary.npy"
    np.save(binary_path, binarize(pixels))
    idx_path = Path(data_path)
    if rows < available:
        idx_path = Path(work_dir) / "images-idx3-ubyte"
        write_idx_images(idx_path, pixels)
    return rows, pixels.shape[1], binary_path, idx_path


# ---------------------------------------------------------------------------
# Workers: the code that runs inside each measurement's subprocess
# ---------------------------------------------------------------------------

def describe_blas():
    """Return the BLAS libraries loaded in this process, as reported by
    threadpoolctl, or [] if threadpoolctl is not installed."""
    try:
        import threadpoolctl
    except ImportError:
        return []
    return [f"{info['internal_api']} {info.get('version')}, "
            f"{info['num_threads']} threads"
            for info in threadpoolctl.threadpool_info()]


def time_sklearn_epoch(data):
    """Time BernoulliRBM.fit for one epoch on data (float32).

    Returns a dict with the seconds and the dtypes that the fitted model
    stores. A fit on the first batch warms up BLAS before the clock starts.
    """
    from sklearn.neural_network import BernoulliRBM

    def make_rbm():
        return BernoulliRBM(n_components=HIDDEN_UNITS, batch_size=BATCH_SIZE,
                            n_iter=1, learning_rate=LEARNING_RATE,
                            random_state=SEED)

    make_rbm().fit(data[:BATCH_SIZE])
    rbm = make_rbm()
    start = time.perf_counter()
    rbm.fit(data)
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "input_dtype": str(data.dtype),
        "weights_dtype": str(rbm.components_.dtype),
        "hidden_bias_dtype": str(rbm.intercept_hidden_.dtype),
        "chains_dtype": str(rbm.h_samples_.dtype),
    }


def make_torch_rbm(data, generator):
    """Return (parameters, velocities) of a new RBM, as dicts of tensors.

    W ~ N(0, 0.01^2), b = 0, and a = logit of the column means of the data
    clipped to [0.001, 0.999], as in ebm_rbm_initialize. The velocities
    start at 0.
    """
    import torch

    visible = data.shape[1]
    weights = torch.randn(visible, HIDDEN_UNITS, generator=generator)
    weights *= WEIGHT_STDDEV
    means = data.mean(dim=0).clamp(0.001, 0.999)
    parameters = {
        "W": weights,
        "a": torch.log(means / (1 - means)),
        "b": torch.zeros(HIDDEN_UNITS),
    }
    velocities = {name: torch.zeros_like(value)
                  for name, value in parameters.items()}
    return parameters, velocities


def torch_cd1_update(v0, parameters, velocities, generator):
    """Apply one CD-1 update with momentum and weight decay on batch v0.

    As in libebm, the hidden units enter the gradient as probabilities and
    the negative visible units as samples. Returns nothing: the update
    changes parameters and velocities in place.
    """
    import torch

    W, a, b = parameters["W"], parameters["a"], parameters["b"]
    h0 = torch.sigmoid(v0 @ W + b)
    h0_sample = torch.bernoulli(h0, generator=generator)
    v1 = torch.bernoulli(torch.sigmoid(h0_sample @ W.t() + a),
                         generator=generator)
    h1 = torch.sigmoid(v1 @ W + b)

    rows = v0.shape[0]
    gradients = {
        "W": (v0.t() @ h0 - v1.t() @ h1) / rows - WEIGHT_DECAY * W,
        "a": (v0 - v1).mean(dim=0),
        "b": (h0 - h1).mean(dim=0),
    }
    for name, gradient in gradients.items():
        velocity = velocities[name]
        velocity.mul_(MOMENTUM).add_(gradient, alpha=LEARNING_RATE)
        parameters[name].add_(velocity)


def time_torch_epoch(data, threads):
    """Time one shuffled CD-1 epoch of a PyTorch RBM on data (float32).

    Returns a dict with the seconds and the torch thread count. One update
    on a throwaway model warms up BLAS and OpenMP before the clock starts.

    NOTE: Debian's PyTorch 1.13 runs element-wise work on its OpenMP threads
    and products on OpenBLAS's own threads, so at 2 threads 4 threads
    compete for 2 cores. On the idle 2-core development machine the loop
    ran 2 to 3 times slower on 2 threads than on 1. OMP_WAIT_POLICY=PASSIVE
    brought it back to about the 1-thread speed, but the script leaves the
    default because that is what users get.
    """
    import torch

    torch.set_num_threads(threads)
    generator = torch.Generator().manual_seed(SEED)
    with torch.no_grad():
        samples = torch.from_numpy(data)
        warm_up = make_torch_rbm(samples, generator)
        torch_cd1_update(samples[:BATCH_SIZE], *warm_up, generator)

        parameters, velocities = make_torch_rbm(samples, generator)
        start = time.perf_counter()
        order = torch.randperm(samples.shape[0], generator=generator)
        for start_row in range(0, samples.shape[0], BATCH_SIZE):
            batch = samples[order[start_row:start_row + BATCH_SIZE]]
            torch_cd1_update(batch, parameters, velocities, generator)
        seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "torch_threads": torch.get_num_threads(),
        "weights_dtype": str(parameters["W"].dtype),
    }


def run_worker(implementation, binary_path, threads):
    """Measure one epoch of a peer and print the result as one JSON line.

    Returns nothing. The parent process reads the line from stdout.
    """
    import numpy as np

    data = np.load(binary_path).astype(np.float32)
    if implementation == "sklearn":
        result = time_sklearn_epoch(data)
    else:
        result = time_torch_epoch(data, threads)
    result["rows"] = int(data.shape[0])
    result["blas"] = describe_blas()
    print(json.dumps(result), flush=True)


# ---------------------------------------------------------------------------
# Measurements: the parent process starts one subprocess per measurement
# ---------------------------------------------------------------------------

def thread_environment(threads):
    """Return a copy of os.environ with each thread variable set to threads."""
    environment = dict(os.environ)
    for name in THREAD_VARIABLES:
        environment[name] = str(threads)
    return environment


def run_subprocess(command, threads, description):
    """Run command with the thread variables set to threads.

    Returns its stdout.

    Raises BenchError with the command's stderr if it fails.
    """
    completed = subprocess.run(command, env=thread_environment(threads),
                               capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise BenchError(f"{description} failed with exit status "
                         f"{completed.returncode}: {' '.join(command)}\n"
                         f"{completed.stderr.strip()}")
    return completed.stdout


def measure_peer(implementation, threads, binary_path, rows):
    """Run one epoch of sklearn or torch in a subprocess.

    Returns a list with one measurement dict.
    """
    command = [sys.executable, str(Path(__file__).resolve()),
               "--worker", implementation, "--worker-input", str(binary_path),
               "--threads", str(threads)]
    output = run_subprocess(command, threads, f"{implementation} worker")
    result = json.loads(output.strip().splitlines()[-1])
    if result["rows"] != rows:
        raise BenchError(f"{implementation} worker trained on "
                         f"{result['rows']} rows; expected {rows}")
    result["series"] = implementation
    result["samples_per_sec"] = rows / result["seconds"]
    return [result]


def parse_ebm_bench_line(line, threads, rows):
    """Return the measurement dict of one epoch line of ebm-bench --json,
    or None for a line about another kernel. Raises BenchError if the line
    is not JSON, or reports another thread count or row count."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError as error:
        raise BenchError(f"ebm-bench printed a line that is not JSON: "
                         f"{line!r} ({error})") from error
    kernel = record.get("kernel")
    if kernel not in LIBEBM_KERNELS:
        return None
    if record.get("threads") != threads or record.get("rows") != rows:
        raise BenchError(f"ebm-bench reported threads={record.get('threads')}"
                         f" and rows={record.get('rows')}; expected "
                         f"threads={threads} and rows={rows}")
    return {
        "series": f"libebm_{kernel}",
        "kernel": kernel,
        "seconds": record["seconds_median"],
        "samples_per_sec": record["samples_per_sec"],
        "gemm_bound_samples_per_sec":
            record.get("gemm_bound_samples_per_sec"),
    }


def measure_libebm(threads, idx_path, rows):
    """Run one round of ebm-bench --epoch (one epoch per kernel).

    Returns one measurement dict for each epoch kernel that ebm-bench
    reports (CD-1, PCD-1 or both).
    """
    command = [str(EBM_BENCH), "--epoch", "--data", str(idx_path),
               "--threads", str(threads), "--json", "--rounds", "1"]
    output = run_subprocess(command, threads, "ebm-bench")
    results = []
    for line in output.splitlines():
        if line.strip():
            result = parse_ebm_bench_line(line, threads, rows)
            if result is not None:
                results.append(result)
    if not results:
        raise BenchError("ebm-bench printed no line with kernel epoch_cd or "
                         f"epoch_pcd:\n{output}")
    return results


def measure(implementation, threads, prepared):
    """Run one measurement of implementation at threads.

    Returns a list of measurement dicts, each with at least the keys
    series, seconds and samples_per_sec.
    """
    rows, _, binary_path, idx_path = prepared
    if implementation == "libebm":
        return measure_libebm(threads, idx_path, rows)
    return measure_peer(implementation, threads, binary_path, rows)


# ---------------------------------------------------------------------------
# Summary
# ---------------------------------------------------------------------------

def summarize_series(values):
    """Return the median, min and max of values as a dict."""
    return {"median": statistics.median(values), "min": min(values),
            "max": max(values)}


def ratio_summary(results, numerator, denominator):
    """Compare two series measured at the same thread count.

    Returns None if either series is missing, else a dict with the ratio
    of their medians and the min and max of the ratios within each round.
    """
    top = results.get(numerator)
    bottom = results.get(denominator)
    if not top or not bottom:
        return None
    per_round = [t / b for t, b in zip(top, bottom)]
    return {
        "numerator": numerator,
        "denominator": denominator,
        "ratio_of_medians": statistics.median(top) / statistics.median(bottom),
        "min_round_ratio": min(per_round),
        "max_round_ratio": max(per_round),
    }


def pick_libebm_series(results, preferred):
    """Return the libebm series to compare with a peer: the preferred
    kernel's, else the other one's, else None if libebm did not run."""
    for kernel in (preferred, *LIBEBM_KERNELS):
        if results.get(f"libebm_{kernel}"):
            return f"libebm_{kernel}"
    return None


def build_summary(threads, results):
    """Return the summary dict of one thread count.

    results maps each series to its samples per second, one value per
    round. libebm's PCD-1 is compared with scikit-learn's PCD-1, and its
    CD-1 with the PyTorch CD-1 loop, whenever ebm-bench reports both.
    """
    series = {name: summarize_series(values)
              for name, values in results.items() if values}
    return {
        "record": "summary",
        "threads": threads,
        "samples_per_sec": series,
        "libebm_over_sklearn": ratio_summary(
            results, pick_libebm_series(results, "epoch_pcd"), "sklearn"),
        "libebm_over_torch": ratio_summary(
            results, pick_libebm_series(results, "epoch_cd"), "torch"),
    }


def format_summary(summary, rounds):
    """Return the text table of one thread count's summary."""
    lines = [f"threads {summary['threads']}, {rounds} rounds, "
             "samples per second:",
             f"  {'implementation':<20} {'median':>9} {'min':>9} {'max':>9}"]
    for name, label in SERIES_LABELS.items():
        values = summary["samples_per_sec"].get(name)
        if values:
            lines.append(f"  {label:<20} {values['median']:>9,.0f} "
                         f"{values['min']:>9,.0f} {values['max']:>9,.0f}")
    for key, peer in (("libebm_over_sklearn", "scikit-learn"),
                      ("libebm_over_torch", "PyTorch")):
        ratio = summary[key]
        if ratio:
            compared = (f"{SERIES_LABELS[ratio['numerator']]} over "
                        f"{SERIES_LABELS[ratio['denominator']]}")
            lines.append(f"  libebm / {peer}: {ratio['ratio_of_medians']:.2f}"
                         f" ({compared}; rounds "
                         f"{ratio['min_round_ratio']:.2f} to "
                         f"{ratio['max_round_ratio']:.2f})")
    return "\n".join(lines)


# ---------------------------------------------------------------------------
# Environment and options
# ---------------------------------------------------------------------------

def import_versions(implementations):
    """Import NumPy and the selected peers.

    Returns their versions by module name. Raises BenchError with status 2,
    naming the Debian packages, if one is missing.
    """
    modules = ["numpy"] + [name for name in implementations
                           if name in PEER_MODULES]
    versions, missing = {}, []
    for name in modules:
        try:
            versions[name] = importlib.import_module(name).__version__
        except ImportError:
            missing.append(name)
    if missing:
        packages = " ".join(PEER_MODULES.get(name, "python3-numpy")
                            for name in missing)
        raise BenchError(
            f"{sys.executable} cannot import {', '.join(missing)}. Install "
            f"the Debian packages ({packages}) with `scripts/setup.sh "
            "--with-peers`, and run this script with /usr/bin/python3, "
            "which sees them.", status=2)
    return versions


def check_ebm_bench(implementations):
    """Raise BenchError with status 2 if libebm is selected and ebm-bench
    is not built. Returns nothing."""
    if "libebm" in implementations and not os.access(EBM_BENCH, os.X_OK):
        raise BenchError(
            f"{EBM_BENCH} not found. Build libebm first with `meson setup "
            "build && ninja -C build` in the repository root, or measure "
            "the peers only with --only sklearn,torch.", status=2)


def cpu_model():
    """Return the CPU model name from /proc/cpuinfo, or platform's guess."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as file:
            for line in file:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def describe_environment(arguments, versions, rows, columns):
    """Return the dict of versions, machine and data printed first."""
    return {
        "record": "environment",
        "date": datetime.datetime.now().astimezone().isoformat(
            timespec="seconds"),
        "python": sys.executable,
        "versions": versions,
        "cpu_count": os.cpu_count(),
        "cpu_model": cpu_model(),
        "load_average": [round(value, 2) for value in os.getloadavg()],
        "data": str(arguments.data),
        "rows": rows,
        "visible": columns,
        "hidden": HIDDEN_UNITS,
        "batch_size": BATCH_SIZE,
        "threads": arguments.threads,
        "rounds": arguments.rounds,
        "implementations": arguments.only,
        "ebm_bench": str(EBM_BENCH) if "libebm" in arguments.only else None,
    }


def format_environment(environment):
    """Return the text header of a run."""
    versions = ", ".join(f"{name} {version}"
                         for name, version in environment["versions"].items())
    load = " ".join(str(value) for value in environment["load_average"])
    return "\n".join([
        f"one RBM training epoch: B = {environment['batch_size']}, "
        f"D = {environment['visible']}, K = {environment['hidden']}",
        f"data: {environment['data']} ({environment['rows']:,} rows)",
        f"versions: {versions}",
        f"CPUs: {environment['cpu_count']} ({environment['cpu_model']}), "
        f"load average {load}",
        f"date: {environment['date']}",
    ])


def parse_list(text, allowed=None, convert=str):
    """Return the comma-separated items of text, converted and checked.

    Raises argparse.ArgumentTypeError for an empty list, an item outside
    allowed, or an item that convert rejects.
    """
    items = [item.strip() for item in text.split(",") if item.strip()]
    if not items:
        raise argparse.ArgumentTypeError(f"invalid list {text!r}")
    try:
        items = [convert(item) for item in items]
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"invalid list {text!r}: {error}")
    for item in items:
        if allowed is not None and item not in allowed:
            raise argparse.ArgumentTypeError(
                f"invalid item {item!r}; expected one of "
                f"{', '.join(allowed)}")
    return items


def positive_int(text):
    """Return text as an int, or raise ValueError unless it is >= 1."""
    value = int(text)
    if value < 1:
        raise ValueError(f"{text} is not >= 1")
    return value


def parse_positive(text):
    """Return text as an int >= 1 for argparse."""
    try:
        return positive_int(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error))


def parse_arguments(argv):
    """Return the parsed command-line options."""
    parser = argparse.ArgumentParser(
        description="Time one RBM training epoch (B = 100, K = 500) of "
                    "libebm, scikit-learn's BernoulliRBM and a PyTorch CD-1 "
                    "loop, each in its own subprocess, and print samples "
                    "per second and the ratios libebm / scikit-learn and "
                    "libebm / PyTorch.")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA,
                        help="IDX file of images, gzip or plain (default: "
                             "%(default)s)")
    parser.add_argument("--rows", type=parse_positive,
                        help="train on the first ROWS rows only (default: "
                             "all rows)")
    parser.add_argument("--threads",
                        type=lambda text: parse_list(text,
                                                     convert=positive_int),
                        default=[1, 2],
                        help="comma-separated thread counts (default: 1,2)")
    parser.add_argument("--rounds", type=parse_positive, default=3,
                        help="measurements of each implementation at each "
                             "thread count (default: 3)")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object per line: the "
                             "environment, each measurement, and a summary "
                             "per thread count")
    parser.add_argument("--only",
                        type=lambda text: parse_list(text, IMPLEMENTATIONS),
                        default=list(IMPLEMENTATIONS),
                        help="comma-separated implementations to run, from "
                             "sklearn, torch, libebm (default: all three)")
    parser.add_argument("--worker", choices=("sklearn", "torch"),
                        help=argparse.SUPPRESS)
    parser.add_argument("--worker-input", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


# ---------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------

def rotate(items, shift):
    """Return items rotated left by shift places."""
    shift %= len(items)
    return items[shift:] + items[:shift]


def format_measurement(result, round_index, threads):
    """Return one progress line for a measurement."""
    line = (f"round {round_index + 1}  threads {threads}  "
            f"{SERIES_LABELS[result['series']]:<20} "
            f"{result['samples_per_sec']:>9,.0f} samples/s "
            f"({result['seconds']:.3f} s)")
    if result.get("gemm_bound_samples_per_sec"):
        line += (f", products alone "
                 f"{result['gemm_bound_samples_per_sec']:,.0f} samples/s")
    if result.get("other_cpus") is not None:
        line += f", other processes {result['other_cpus']:.2f} CPUs"
    return line


def run_rounds(arguments, prepared, emit):
    """Run every measurement, alternating implementations and threads.

    Each round runs every thread count, and within it every implementation
    in an order rotated by one place per round. Returns (results,
    measurements): results maps each thread count to {series: [samples per
    second of each round]}, and measurements lists every measurement dict.
    """
    results = {threads: {} for threads in arguments.threads}
    measurements = []
    for round_index in range(arguments.rounds):
        for threads in arguments.threads:
            for implementation in rotate(arguments.only, round_index):
                before = read_cpu_counters()
                measured = measure(implementation, threads, prepared)
                other_cpus = other_cpu_use(before, read_cpu_counters())
                for result in measured:
                    result["other_cpus"] = other_cpus
                    measurements.append(result)
                    results[threads].setdefault(result["series"], []).append(
                        result["samples_per_sec"])
                    emit(result, round_index, threads)
    return results, measurements


def read_cpu_counters():
    """Return (wall seconds, busy CPU seconds of the machine, CPU seconds of
    this process and its finished children), or None without /proc/stat.

    Busy time is user, nice, system, irq, softirq and steal time from the
    first line of /proc/stat (see proc(5)), summed over all CPUs.
    """
    try:
        with open("/proc/stat", encoding="ascii") as file:
            fields = [int(value) for value in file.readline().split()[1:9]]
    except (OSError, ValueError):
        return None
    user, nice, system, _, _, irq, softirq, steal = fields
    busy = (user + nice + system + irq + softirq + steal)
    busy /= os.sysconf("SC_CLK_TCK")
    own = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        own += usage.ru_utime + usage.ru_stime
    return time.perf_counter(), busy, own


def other_cpu_use(before, after):
    """Return the average number of CPUs that other processes and steal
    time took between two read_cpu_counters() results, or None."""
    if before is None or after is None or after[0] <= before[0]:
        return None
    busy = after[1] - before[1]
    own = after[2] - before[2]
    return round(max(busy - own, 0.0) / (after[0] - before[0]), 3)


def make_emitter(as_json):
    """Return a function that prints one measurement as JSON or text."""
    def emit(result, round_index, threads):
        if as_json:
            record = {"record": "measurement", "round": round_index + 1,
                      "threads": threads, **result}
            print(json.dumps(record), flush=True)
        else:
            print(format_measurement(result, round_index, threads),
                  flush=True)
    return emit


def warn_if_busy(results):
    """Print a warning to stderr if other processes took CPU time during
    some measurements. Returns nothing."""
    busy = [result for result in results
            if (result.get("other_cpus") or 0.0) >= BUSY_OTHER_CPUS]
    if busy:
        highest = max(result["other_cpus"] for result in busy)
        print(f"peers.py: warning: other processes used up to {highest:.2f} "
              f"CPUs during {len(busy)} of {len(results)} measurements. "
              "Their figures, above all those with more than 1 thread, are "
              "unreliable. Rerun on an idle machine.", file=sys.stderr)


def run(arguments):
    """Run the comparison and print its results. Returns the exit status."""
    versions = import_versions(arguments.only)
    check_ebm_bench(arguments.only)
    with tempfile.TemporaryDirectory(prefix="ebm-peers-") as work_dir:
        prepared = prepare_data(arguments.data, arguments.rows, work_dir)
        rows, columns = prepared[:2]
        environment = describe_environment(arguments, versions, rows, columns)
        if arguments.json:
            print(json.dumps(environment), flush=True)
        else:
            print(format_environment(environment) + "\n", flush=True)
        emit = make_emitter(arguments.json)
        results, measurements = run_rounds(arguments, prepared, emit)

    load = [round(value, 2) for value in os.getloadavg()]
    warn_if_busy(measurements)
    for threads in arguments.threads:
        summary = build_summary(threads, results[threads])
        summary["load_average_at_end"] = load
        if arguments.json:
            print(json.dumps(summary))
        else:
            print("\n" + format_summary(summary, arguments.rounds))
    if not arguments.json:
        print(f"\nload average at end: {' '.join(map(str, load))}")
    return 0


def main(argv=None):
    """Run the command line. Returns the exit status."""
    arguments = parse_arguments(sys.argv[1:] if argv is None else argv)
    if arguments.worker:
        run_worker(arguments.worker, arguments.worker_input,
                   arguments.threads[0])
        return 0
    try:
        return run(arguments)
    except BenchError as error:
        print(f"peers.py: {error}", file=sys.stderr)
        return error.status


if __name__ == "__main__":
    sys.exit(main())
