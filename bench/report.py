#!/usr/bin/python3
"""Format the JSON lines of `ebm-bench --json` as Markdown tables.

Usage: build/bench/ebm-bench --json > kernels.json
       /usr/bin/python3 bench/report.py kernels.json

Kernel measurements become one table with a row per kernel, shape and
thread count; epoch measurements (`ebm-bench --epoch --json`) another.
Standard library only.
"""
import json
import sys


def kernel_table(rows):
    """Return the Markdown table of kernel measurements."""
    lines = [
        "| kernel | B | K | threads | ms median (min-max) | GFLOP/s "
        "| naive ms | x naive | bound ms | ratio to bound |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        naive = f"{r['naive_seconds'] * 1e3:.1f}"
        if r["naive_rows"] != r["B"]:
            naive += f" ({r['naive_rows']} rows, scaled)"
        lines.append(
            f"| {r['kernel']} | {r['B']} | {r['K']} | {r['threads']} "
            f"| {r['seconds_median'] * 1e3:.3f} "
            f"({r['seconds_min'] * 1e3:.3f}-{r['seconds_max'] * 1e3:.3f}) "
            f"| {r['gflops']:.1f} | {naive} | {r['speedup_vs_naive']:.1f} "
            f"| {r['gemm_bound_seconds'] * 1e3:.3f} "
            f"| {r['ratio_to_gemm_bound']:.3f} |")
    return "\n".join(lines)


def epoch_table(rows):
    """Return the Markdown table of epoch measurements."""
    lines = [
        "| data | method | rows | threads | s median (min-max) "
        "| samples/s | bound samples/s | ratio to bound |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        name = r["data"].rsplit("/", 1)[-1]
        lines.append(
            f"| {name} | {r['kernel'][len('epoch_'):].upper()}-1 "
            f"| {r['rows']} | {r['threads']} "
            f"| {r['seconds_median']:.3f} "
            f"({r['seconds_min']:.3f}-{r['seconds_max']:.3f}) "
            f"| {r['samples_per_sec']:,.0f} "
            f"| {r['gemm_bound_samples_per_sec']:,.0f} "
            f"| {r['ratio_to_gemm_bound']:.3f} |")
    return "\n".join(lines)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: report.py FILE.json")
    with open(sys.argv[1], encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle if line.strip()]
    kernels = [r for r in rows if not r["kernel"].startswith("epoch_")]
    epochs = [r for r in rows if r["kernel"].startswith("epoch_")]
    if kernels:
        print(kernel_table(kernels))
    if epochs:
        print(epoch_table(epochs))


if __name__ == "__main__":
    main()
