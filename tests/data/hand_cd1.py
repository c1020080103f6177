#!/usr/bin/python3
"""Compute the literal numbers of the cd1_literal_values test in
tests/test_train.c: one CD-1 update of a 2 x 3 RBM, step by step.

Run with the standard library only:

    /usr/bin/python3 tests/data/hand_cd1.py

The script implements Philox4x32-10 from its definition (Salmon, Moraes,
Dror and Shaw, "Parallel random numbers: as easy as 1, 2, 3", SC 2011),
checks it against the Random123 known-answer vectors, and builds the
uniforms exactly as include/ebm.h defines them at ebm_rng. The update
follows docs/training.md: stream 0 samples H from P(h | X), stream 1
samples V from P(v | H), the negative hidden statistics are P(h | V), and
the step is SGD with momentum and weight decay from zero velocity.

Every value is computed in double. The script picks the first seed from
FIRST_SEED on whose 10 samples all satisfy |u - p| >= MIN_MARGIN, so that
float rounding in the library cannot flip a sample, and whose hidden and
visible samples each contain both 0 and 1. It prints that seed
and every table as C initialisers, one table row per line.
"""

import math
import sys

MASK32 = 0xFFFFFFFF
PHILOX_M0 = 0xD2511F53
PHILOX_M1 = 0xCD9E8D57
PHILOX_W0 = 0x9E3779B9
PHILOX_W1 = 0xBB67AE85

# The model: D = 2 visible and K = 3 hidden units, every parameter a
# multiple of 1/4 so that each activation is exact in float.
D, K = 2, 3
W = [[0.5, -0.75, 0.25],
     [-0.5, 1.0, 0.75]]
A = [0.25, -0.5]
B = [-0.25, 0.5, 0.0]
X = [[1.0, 0.0],
     [1.0, 1.0]]
LEARNING_RATE = 0.125
MOMENTUM = 0.5
WEIGHT_DECAY = 0.0625
MIN_MARGIN = 0.02
# Not 1, the default of ebm_train_config_init, so that a trainer that
# ignored config.seed would fail the test.
FIRST_SEED = 101


def philox4x32_10(counter, key):
    """Encrypt four 32-bit counter words with two 32-bit key words."""
    c0, c1, c2, c3 = counter
    k0, k1 = key
    for round_number in range(10):
        if round_number > 0:
            k0 = (k0 + PHILOX_W0) & MASK32
            k1 = (k1 + PHILOX_W1) & MASK32
        product0 = PHILOX_M0 * c0
        product1 = PHILOX_M1 * c2
        c0, c1, c2, c3 = (
            (product1 >> 32) ^ c1 ^ k0,
            product1 & MASK32,
            (product0 >> 32) ^ c3 ^ k1,
            product0 & MASK32,
        )
    return [c0, c1, c2, c3]


def check_known_answers():
    """Exit with an error unless Philox matches the Random123 vectors."""
    vectors = [
        ([0, 0, 0, 0], [0, 0],
         [0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8]),
        ([MASK32] * 4, [MASK32] * 2,
         [0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD]),
        ([0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344],
         [0xA4093822, 0x299F31D0],
         [0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1]),
    ]
    for counter, key, expected in vectors:
        got = philox4x32_10(counter, key)
        if got != expected:
            sys.exit("Philox4x32-10 known-answer test failed: got %s, "
                     "expected %s" % ([hex(w) for w in got],
                                      [hex(w) for w in expected]))


def uniform(seed, stream, index):
    """Return the documented uniform of (seed, stream, index).

    The value is exact in float, so ebm_rng_uniform returns it unchanged.
    """
    block = 16 * (index // 64) + index % 16
    word = (index % 64) // 16
    counter = [block & MASK32, block >> 32, stream & MASK32, stream >> 32]
    key = [seed & MASK32, seed >> 32]
    raw = philox4x32_10(counter, key)[word]
    return ((raw >> 9) + 0.5) * 2.0 ** -23


def sigmoid(x):
    return 1.0 / (1.0 + math.exp(-x))


def hidden_prob(v):
    return [sigmoid(B[k] + sum(v[i] * W[i][k] for i in range(D)))
            for k in range(K)]


def visible_prob(h):
    return [sigmoid(A[i] + sum(h[k] * W[i][k] for k in range(K)))
            for i in range(D)]


def sample(seed, stream, probs):
    """Draw Bernoulli samples of a rows x cols table from one stream."""
    cols = len(probs[0])
    uniforms = [[uniform(seed, stream, r * cols + c) for c in range(cols)]
                for r in range(len(probs))]
    samples = [[1.0 if uniforms[r][c] < probs[r][c] else 0.0
                for c in range(cols)] for r in range(len(probs))]
    margin = min(abs(uniforms[r][c] - probs[r][c])
                 for r in range(len(probs)) for c in range(cols))
    return uniforms, samples, margin


def cd1_update(seed):
    """Return every intermediate table of one CD-1 update with this seed."""
    rows = len(X)
    hpos = [hidden_prob(x) for x in X]
    u_hidden, hs, margin_h = sample(seed, 0, hpos)
    vprob = [visible_prob(h) for h in hs]
    u_visible, vs, margin_v = sample(seed, 1, vprob)
    hneg = [hidden_prob(v) for v in vs]

    grad_w = [[sum(X[r][i] * hpos[r][k] for r in range(rows)) / rows -
               sum(vs[r][i] * hneg[r][k] for r in range(rows)) / rows
               for k in range(K)] for i in range(D)]
    grad_a = [sum(X[r][i] for r in range(rows)) / rows -
              sum(vs[r][i] for r in range(rows)) / rows for i in range(D)]
    grad_b = [sum(hpos[r][k] for r in range(rows)) / rows -
              sum(hneg[r][k] for r in range(rows)) / rows for k in range(K)]

    # Velocity starts at 0, so the first velocity is the learning rate
    # times the decayed gradient and the momentum term vanishes.
    new_w = [[W[i][k] + LEARNING_RATE * (grad_w[i][k] -
                                         WEIGHT_DECAY * W[i][k])
              for k in range(K)] for i in range(D)]
    new_a = [A[i] + LEARNING_RATE * grad_a[i] for i in range(D)]
    new_b = [B[k] + LEARNING_RATE * grad_b[k] for k in range(K)]
    return {
        "margin": min(margin_h, margin_v),
        "hs": hs,
        "vs": vs,
        "tables": [
            ("HIDDEN_PROB", "P(h | X), 2 x 3", hpos),
            ("HIDDEN_UNIFORM",
             "uniforms of stream 0 for H, index r * 3 + k", u_hidden),
            ("HIDDEN_SAMPLE", "H: 1 where u < p", hs),
            ("VISIBLE_PROB", "P(v | H), 2 x 2", vprob),
            ("VISIBLE_UNIFORM",
             "uniforms of stream 1 for V, index r * 2 + i", u_visible),
            ("VISIBLE_SAMPLE", "V: 1 where u < p", vs),
            ("NEGATIVE_PROB", "P(h | V), 2 x 3", hneg),
            ("GRAD_W", "grad_W, 2 x 3", grad_w),
            ("GRAD_A", "grad_a", [grad_a]),
            ("GRAD_B", "grad_b", [grad_b]),
            ("NEW_W", "W after the step, 2 x 3", new_w),
            ("NEW_A", "a after the step", [new_a]),
            ("NEW_B", "b after the step", [new_b]),
        ],
    }


def mixed(table):
    """Return True when a table of 0s and 1s contains both values."""
    values = {value for row in table for value in row}
    return values == {0.0, 1.0}


def main():
    check_known_answers()
    for seed in range(FIRST_SEED, FIRST_SEED + 10000):
        result = cd1_update(seed)
        if (result["margin"] >= MIN_MARGIN and mixed(result["hs"]) and
                mixed(result["vs"])):
            break
    else:
        sys.exit("no seed in [%d, %d) has every |u - p| >= %g"
                 % (FIRST_SEED, FIRST_SEED + 10000, MIN_MARGIN))

    print("/* seed %d, smallest |u - p| = %.4f */" % (seed, result["margin"]))
    for name, description, table in result["tables"]:
        flat = [value for row in table for value in row]
        print("/* %s */" % description)
        print("static const double HAND_CD1_%s[%d] = {" % (name, len(flat)))
        # 17 significant digits reproduce the double exactly, which keeps
        # the uniforms (odd multiples of 2^-24) exact.
        for row in table:
            print("    " + ", ".join("%.17g" % value for value in row) + ",")
        print("};")


if __name__ == "__main__":
    main()
