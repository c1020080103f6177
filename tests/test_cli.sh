#!/usr/bin/env bash
# Tests of the ebm command: usage errors (exit 2), runtime failures
# (exit 1), and short training runs on the first 300 MNIST rows.
#
# Usage: test_cli.sh PATH_TO_EBM. EBM_DATA_DIR must contain
# mnist-10k/images-idx3-ubyte.gz, and may contain
# mnist-10k/labels-idx1-ubyte.gz.

set -u

ebm=${1:?usage: test_cli.sh PATH_TO_EBM}
data=${EBM_DATA_DIR:?EBM_DATA_DIR is not set}/mnist-10k/images-idx3-ubyte.gz
labels=$EBM_DATA_DIR/mnist-10k/labels-idx1-ubyte.gz
python=/usr/bin/python3
failures=0
checks=0

tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}

# Runs ebm with the given arguments, storing the exit status in $status and
# the output in $tmp/stdout and $tmp/stderr.
run() {
    "$ebm" "$@" >"$tmp/stdout" 2>"$tmp/stderr"
    status=$?
}

# expect_exit STATUS TEXT ARGS...: ebm ARGS must exit with STATUS and print
# one line on stderr that starts with "ebm" and contains TEXT.
expect_exit() {
    local expected=$1 text=$2
    shift 2
    checks=$((checks + 1))
    run "$@"
    if [ "$status" -ne "$expected" ]; then
        fail "ebm $*: exit status $status, expected $expected"
        cat "$tmp/stderr" >&2
        return
    fi
    if [ "$(wc -l <"$tmp/stderr")" -ne 1 ]; then
        fail "ebm $*: expected one line on stderr, got:"
        cat "$tmp/stderr" >&2
        return
    fi
    if ! grep -q '^ebm' "$tmp/stderr" || ! grep -qF -- "$text" "$tmp/stderr"
    then
        fail "ebm $*: stderr lacks '$text':"
        cat "$tmp/stderr" >&2
    fi
}

# expect_success TEXT ARGS...: ebm ARGS must exit 0 and print TEXT on
# stdout.
expect_success() {
    local text=$1
    shift
    checks=$((checks + 1))
    run "$@"
    if [ "$status" -ne 0 ]; then
        fail "ebm $*: exit status $status, expected 0"
        cat "$tmp/stderr" >&2
    elif ! grep -qF -- "$text" "$tmp/stdout"; then
        fail "ebm $*: stdout lacks '$text'"
    fi
}

# --- help and version -----------------------------------------------------

expect_success "Usage: ebm COMMAND" --help
expect_success "Usage: ebm train" train --help
expect_success "--weight-decay W" train --data x --help
expect_success "Usage: ebm info" info --help
expect_success "ebm 0." --version

# --- usage errors: exit status 2 ------------------------------------------

out=$tmp/model.npz
base=(--data "$data" --hidden 16 --epochs 1 --out "$out")

expect_exit 2 "unknown command 'frobnicate'" frobnicate
expect_exit 2 "unknown option '--frobnicate'" --frobnicate
expect_exit 2 "unexpected argument 'extra'" --version extra
expect_exit 2 "missing required option --data" train
expect_exit 2 "missing required option --hidden" train --data "$data"
expect_exit 2 "missing required option --out" \
    train --data "$data" --hidden 16 --epochs 1
expect_exit 2 "unknown option '--frobnicate'" train "${base[@]}" --frobnicate
expect_exit 2 "unexpected argument 'extra'" train "${base[@]}" extra
expect_exit 2 "--hidden is given more than once" train "${base[@]}" --hidden 8
expect_exit 2 "missing value for option --out" \
    train --data "$data" --hidden 16 --epochs 1 --out
expect_exit 2 "missing value for option --out" \
    train --data "$data" --hidden 16 --epochs 1 --out --json
expect_exit 2 "option --json takes no value" train "${base[@]}" --json=yes
expect_exit 2 "empty value for option --out" \
    train --data "$data" --hidden 16 --epochs 1 --out ""
expect_exit 2 "empty value for option --model" info --model=

# Each row: the option, the bad value, and the text the error must contain.
while IFS='|' read -r option value text; do
    expect_exit 2 "$text" train "${base[@]}" \
        "$option" "$value"
done <<'CASES'
--batch|0|invalid value '0' for --batch
--batch|12x|invalid value '12x' for --batch
--batch| 12|invalid value ' 12' for --batch
--batch|-5|invalid value '-5' for --batch
--batch||empty value for option --batch
--batch|+5|invalid value '+5' for --batch
--batch|99999999999999999999999|invalid value '99999999999999999999999'
--lr|0|expected a decimal number > 0
--lr|-0.1|expected a decimal number > 0
--lr|nan|invalid value 'nan' for --lr
--lr|inf|invalid value 'inf' for --lr
--lr|NaN|invalid value 'NaN' for --lr
--lr|-INF|invalid value '-INF' for --lr
--lr|infinity|invalid value 'infinity' for --lr
--lr|0x10|invalid value '0x10' for --lr: expected a decimal number > 0
--lr|0X1p-4|invalid value '0X1p-4' for --lr
--lr|1e|invalid value '1e' for --lr
--lr|1e+|invalid value '1e+' for --lr
--lr|.|invalid value '.' for --lr
--lr|+|invalid value '+' for --lr
--lr|.e1|invalid value '.e1' for --lr
--lr|1.5.5|invalid value '1.5.5' for --lr
--lr|+-1|invalid value '+-1' for --lr
--lr|0.1 |invalid value '0.1 ' for --lr
--lr| 0.1|invalid value ' 0.1' for --lr
--lr|1e400|invalid value '1e400' for --lr
--lr|1e39|invalid value '1e39' for --lr
--lr|1e-60|rounds to 0 as a 32-bit float
--lr|0.05x|invalid value '0.05x' for --lr
--momentum|1|expected a decimal number in [0, 1)
--momentum|0x0.8|invalid value '0x0.8' for --momentum
--momentum|0.9999999999|rounds to 1 as a 32-bit float
--momentum|-0.5|invalid value '-0.5' for --momentum
--weight-decay|-1e-4|expected a decimal number >= 0
--weight-decay|inf|invalid value 'inf' for --weight-decay
--cd|0|invalid value '0' for --cd
--cd|4294967296|expected an integer from 1 to 4294967295
--pcd|0|invalid value '0' for --pcd
--seed|-1|invalid value '-1' for --seed
--seed|18446744073709551616|expected an integer from 0 to 18446744073709551615
--seed|0x10|invalid value '0x10' for --seed
--valid-fraction|1|expected a decimal number in [0, 1)
--valid-fraction|0x0.1|invalid value '0x0.1' for --valid-fraction
--valid-fraction|-0.1|invalid value '-0.1' for --valid-fraction
--threads|1025|expected an integer from 0 to 1024
--binarize|maybe|expected threshold, stochastic or none
--rows|0|invalid value '0' for --rows
--monitor-rows|0|invalid value '0' for --monitor-rows
--init-stddev|-0.01|invalid value '-0.01' for --init-stddev
--init-stddev|0x1p-7|invalid value '0x1p-7' for --init-stddev
CASES

expect_exit 2 "invalid value '0' for --hidden" \
    train --data "$data" --hidden 0 --epochs 1 --out "$out"
expect_exit 2 "expected an integer from 1 to 16777216" \
    train --data "$data" --hidden 16777217 --epochs 1 --out "$out"
expect_exit 2 "invalid value '1.5' for --epochs" \
    train --data "$data" --hidden 16 --epochs 1.5 --out "$out"
expect_exit 2 "--cd and --pcd cannot be used together" \
    train "${base[@]}" --cd 1 --pcd 1
expect_exit 2 "--chains applies only to --pcd" train "${base[@]}" --chains 10
expect_exit 2 "--chains applies only to --pcd" \
    train "${base[@]}" --cd 2 --chains 10
# Sizes beyond the library's limits: 784 x 16777216 weights exceed
# EBM_MAX_ELEMENTS, a model file of 784 x 1367823 weights would be 4 GiB
# or more (784 x 1367822 weights fit), and the trainer's buffers for
# 2000000 chains of 500 hidden units exceed EBM_MAX_ELEMENTS floats.
expect_exit 2 "expected an integer from 1 to 16777216" \
    train "${base[@]}" --pcd 1 --chains 99999999999
expect_exit 2 "invalid value '16777216' for --hidden: 784 visible x 16777216" \
    train --data "$data" --hidden 16777216 --epochs 1 --out "$out"
expect_exit 2 "above the library's limit of 4294967296 (EBM_MAX_ELEMENTS)" \
    train --data "$data" --hidden 16777216 --epochs 1 --out "$out"
expect_exit 2 "invalid value '1367823' for --hidden: the model could not be" \
    train --data "$data" --hidden 1367823 --epochs 1 --out "$out"
expect_exit 2 "the maximum is --hidden 1367822 (W of 784 x 1367822" \
    train --data "$data" --hidden 1367823 --epochs 1 --out "$out"
expect_exit 2 "2000000 persistent chains need a trainer too large" \
    train --data "$data" --hidden 500 --epochs 1 --out "$out" \
    --pcd 1 --chains 2000000
# 16777217 rows of 2 zero bytes, for a batch one row above EBM_MAX_UNITS.
{
    printf '\0\0\10\2\1\0\0\1\0\0\0\2'
    head -c 33554434 /dev/zero
} | gzip -1 >"$tmp/tall.idx.gz"
expect_exit 2 "invalid value '16777217' for --batch: a batch may have" \
    train --data "$tmp/tall.idx.gz" --hidden 1 --epochs 1 --out "$out" \
    --valid-fraction 0 --batch 16777217
expect_exit 2 "--rows 10001 exceeds the 10000 rows" \
    train "${base[@]}" --rows 10001
expect_exit 2 "leaves no training rows" \
    train "${base[@]}" --rows 1 --valid-fraction 0.5
expect_exit 2 "missing required option --model" info
expect_exit 2 "unknown option '--frobnicate'" info --model x --frobnicate

# --- runtime failures: exit status 1 --------------------------------------

printf 'this is not an IDX file\n' >"$tmp/not-idx.idx"
printf 'this is not a model\n' >"$tmp/not-model.npz"

expect_exit 1 "cannot read '$tmp/missing.idx': EBM_ERR_IO" \
    train --data "$tmp/missing.idx" --hidden 16 --epochs 1 --out "$out"
expect_exit 1 "cannot read '$tmp/not-idx.idx': EBM_ERR_FORMAT" \
    train --data "$tmp/not-idx.idx" --hidden 16 --epochs 1 --out "$out"
# One value per row: a one-dimensional IDX file of 3 bytes, a 3 x 1 file,
# and the MNIST labels.
printf '\0\0\10\1\0\0\0\3\1\2\3' >"$tmp/one-dim.idx"
printf '\0\0\10\2\0\0\0\3\0\0\0\1\1\2\3' >"$tmp/one-col.idx"
expect_exit 1 "'$tmp/one-dim.idx' has one value per row (3 rows x 1 column)" \
    train --data "$tmp/one-dim.idx" --hidden 16 --epochs 1 --out "$out"
expect_exit 1 "an RBM needs rows of several values, such as images" \
    train --data "$tmp/one-col.idx" --hidden 16 --epochs 1 --out "$out"
if [ -e "$labels" ]; then
    expect_exit 1 "has one value per row (10000 rows x 1 column)" \
        train --data "$labels" --hidden 16 --epochs 1 --out "$out"
fi
expect_exit 1 "cannot write model '$tmp/no-such-dir/m.npz'" \
    train --data "$data" --hidden 16 --epochs 1 \
    --out "$tmp/no-such-dir/m.npz"
expect_exit 1 "it is a directory" \
    train --data "$data" --hidden 16 --epochs 1 --out "$tmp"
expect_exit 1 "cannot read model '$tmp/missing.npz': EBM_ERR_IO" \
    info --model "$tmp/missing.npz"
expect_exit 1 "cannot read model '$tmp/not-model.npz'" \
    info --model "$tmp/not-model.npz"
# This learning rate makes a parameter overflow a float within a few
# updates.
expect_exit 1 "training diverged in epoch 1, so the model was not saved" \
    train --data "$data" --rows 300 --hidden 16 --epochs 1 --lr 3e38 \
    --out "$out"
for path in "$out" "$tmp/no-such-dir/m.npz"; do
    checks=$((checks + 1))
    if [ -e "$path" ]; then
        fail "a failed run created '$path'"
    fi
done

# --- training -------------------------------------------------------------

train=(train --data "$data" --rows 300 --hidden 16 --epochs 2)

# check_json_lines FILE: FILE must hold epochs 0, 1 and 2, one JSON object
# per line with the seven keys.
check_json_lines() {
    checks=$((checks + 1))
    if [ -x "$python" ]; then
        "$python" -c '
import json, math, sys
keys = ["epoch", "recon_error", "pseudo_loglik_train",
        "pseudo_loglik_valid", "free_energy_gap", "samples_per_sec",
        "seconds"]
lines = open(sys.argv[1]).read().splitlines()
assert len(lines) == 3, "expected 3 lines, got %d" % len(lines)
for epoch, line in enumerate(lines):
    record = json.loads(line)
    assert list(record) == keys, "keys of %r" % line
    assert record["epoch"] == epoch, "epoch of %r" % line
    for key in keys[1:5] + keys[6:]:
        value = record[key]
        assert isinstance(value, float) and math.isfinite(value), \
            "%s of %r" % (key, line)
    rate = record["samples_per_sec"]
    assert (rate is None or rate == 0) if epoch == 0 else rate > 0, \
        "samples_per_sec of %r" % line
' "$1" || fail "JSON output of ebm train is wrong: $(cat "$1")"
    else
        local count
        count=$(grep -c '^{"epoch": [0-9]*, "recon_error": .*, '\
'"pseudo_loglik_train": .*, "pseudo_loglik_valid": .*, '\
'"free_energy_gap": .*, "samples_per_sec": .*, "seconds": .*}$' "$1")
        [ "$count" -eq 3 ] || fail "JSON output of ebm train: $(cat "$1")"
    fi
}

checks=$((checks + 1))
run "${train[@]}" --seed 7 --json --out "$tmp/a.npz"
if [ "$status" -ne 0 ]; then
    fail "training run: exit status $status: $(cat "$tmp/stderr")"
else
    check_json_lines "$tmp/stdout"
    grep -q "^settings: .*seed=7 threads=" "$tmp/stderr" \
        || fail "--json: the settings line is not on stderr"
    grep -q "saved model to '$tmp/a.npz'" "$tmp/stderr" \
        || fail "--json: the saved message is not on stderr"
fi

expect_success "hidden units      16" info --model "$tmp/a.npz"
expect_success "visible units     784" info --model "$tmp/a.npz"
expect_success '"hidden_units": 16' info --model "$tmp/a.npz" --json
if [ -x "$python" ]; then
    checks=$((checks + 1))
    "$python" -c 'import json, sys; r = json.load(sys.stdin);
assert r["parameters"] == 784 * 16 + 784 + 16' <"$tmp/stdout" \
        || fail "ebm info --json: $(cat "$tmp/stdout")"
fi

checks=$((checks + 1))
run "${train[@]}" --seed 7 --json --out "$tmp/b.npz"
cmp -s "$tmp/a.npz" "$tmp/b.npz" \
    || fail "two runs with the same seed saved different models"

checks=$((checks + 1))
run "${train[@]}" --seed 7 --json --threads 1 --out "$tmp/c.npz"
cmp -s "$tmp/a.npz" "$tmp/c.npz" \
    || fail "--threads 1 saved a different model than the default threads"

checks=$((checks + 1))
run "${train[@]}" --json --seed 8 --out "$tmp/d.npz"
if [ "$status" -ne 0 ] || cmp -s "$tmp/a.npz" "$tmp/d.npz"; then
    fail "--seed 8 did not train a different model than --seed 7"
fi

# Table mode, and the code paths of the other options.
hint="load it in Python with numpy.load('$tmp/e.npz'): arrays W (784 x 16),"
hint+=" visible_bias, hidden_bias"
expect_success "$hint" \
    "${train[@]}" --seed 7 --out "$tmp/e.npz" --pcd 2 --chains 10 \
    --binarize none --batch 50 --threads 2
grep -q "^epoch  *recon_error" "$tmp/stdout" \
    || fail "table mode: no header line"
grep -q "^settings: .*method=PCD-2 chains=10 batch=50" "$tmp/stdout" \
    || fail "table mode: settings line: $(head -n 1 "$tmp/stdout")"
expect_success "    2 " "${train[@]}" --seed 7 --out "$tmp/f.npz" \
    --valid-fraction 0 --binarize stochastic --monitor-rows 50
grep -qE '^    2 +[0-9.]+ +-[0-9.]+ +- +- ' "$tmp/stdout" \
    || fail "--valid-fraction 0: the validation columns are not '-'"

# Every decimal form that the floating-point options accept.
expect_success "lr=0.05 momentum=0.5 weight_decay=0.0001 init_stddev=0.01 " \
    "${train[@]}" --out "$tmp/g.npz" --lr 5e-2 --momentum .5 \
    --weight-decay 1E-4 --init-stddev +0.01 --valid-fraction 10.e-2
grep -q "^settings: .* valid_rows=30 " "$tmp/stdout" \
    || fail "--valid-fraction 10.e-2: $(head -n 1 "$tmp/stdout")"

run --version
version=$(sed -n 's/^ebm //p' "$tmp/stdout")
expect_success "threads=2 libebm=$version blas='" "${train[@]}" --threads 2 \
    --out "$tmp/h.npz"
grep -qE "^settings: .* blas='OpenBLAS [0-9.]+ [A-Za-z0-9_]+' out=" \
    "$tmp/stdout" || fail "settings line: no BLAS: $(head -n 1 "$tmp/stdout")"

if [ "$failures" -ne 0 ]; then
    echo "$failures of $checks checks failed" >&2
    exit 1
fi
echo "all $checks checks passed"
