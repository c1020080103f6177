#!/usr/bin/python3
"""Fit the polynomial that lib/vmath.h uses for exp(r), |r| <= ln(2) / 2.

Lawson's algorithm: weighted least squares on Chebyshev nodes, with the
weights multiplied by the current error after each solve, converges to the
polynomial of least maximum relative error. The coefficients are then
rounded to float32; the script prints them as C hexadecimal float literals
with the largest relative error of the rounded polynomial.

Usage: /usr/bin/python3 scripts/fit_exp.py [DEGREE]   (default 6)
"""
import sys

import numpy as np


def fit(degree, nodes=4000, iterations=200):
    half_ln2 = np.log(2.0) / 2.0
    k = np.arange(nodes)
    r = np.cos(np.pi * (k + 0.5) / nodes) * half_ln2
    target = np.exp(r)
    vander = np.vander(r, degree + 1, increasing=True)
    weights = np.ones_like(r)
    for _ in range(iterations):
        scale = np.sqrt(weights) / target
        coefficients = np.linalg.lstsq(vander * scale[:, None],
                                       target * scale, rcond=None)[0]
        error = np.abs(vander @ coefficients / target - 1.0)
        weights = weights * error
        weights /= weights.sum()
    return coefficients.astype(np.float32)


def max_relative_error(coefficients):
    half_ln2 = np.log(2.0) / 2.0
    r = np.linspace(-half_ln2, half_ln2, 200001)
    value = np.polyval(coefficients[::-1].astype(np.float64), r)
    return np.max(np.abs(value / np.exp(r) - 1.0))


def main():
    degree = int(sys.argv[1]) if len(sys.argv) > 1 else 6
    coefficients = fit(degree)
    print(f"degree {degree}, max relative error "
          f"{max_relative_error(coefficients):.3g}")
    for power, value in enumerate(coefficients):
        print(f"  r^{power}: {float(value).hex()}")


if __name__ == "__main__":
    main()
