#!/usr/bin/env bash
# Tests of the ebm command: usage errors (exit 2), runtime failures
# (exit 1), short training runs on the first 300 MNIST rows, and eval,
# sample and filters on the models they save.
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
expect_success "Usage: ebm eval" eval --help
expect_success "exact when the smaller layer has at" eval --help
expect_success "Usage: ebm sample" sample --help
expect_success "--clamp SIDE:R" sample --help
expect_success "Usage: ebm filters" filters --help
expect_success "--ais-every N" train --help
expect_success "ais_ll_valid" train --help

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

# Usage errors of --ais-every, eval, sample and filters that are found
# before any file is read.
expect_exit 2 "--ais-chains applies only with --ais-every N" \
    train "${base[@]}" --ais-chains 10
expect_exit 2 "--ais-betas applies only with --ais-every N" \
    train "${base[@]}" --ais-betas 10
expect_exit 2 "it needs --valid-fraction above 0" \
    train "${base[@]}" --ais-every 1 --valid-fraction 0
expect_exit 2 "invalid value '0' for --ais-every" \
    train "${base[@]}" --ais-every 0
expect_exit 2 "invalid value '1' for --ais-betas: expected an integer from 2" \
    train "${base[@]}" --ais-every 1 --ais-betas 1

model=$tmp/a.npz
eval_base=(eval --model "$model" --data "$data")
expect_exit 2 "missing required option --model" eval --data "$data"
expect_exit 2 "missing required option --data" eval --model "$model"
expect_exit 2 "unknown option '--frobnicate'" "${eval_base[@]}" --frobnicate
expect_exit 2 "option --reverse takes no value" "${eval_base[@]}" --reverse=1
while IFS='|' read -r option value text; do
    expect_exit 2 "$text" "${eval_base[@]}" "$option" "$value"
done <<'CASES'
--method|fast|expected auto, exact or ais
--ais-chains|0|invalid value '0' for --ais-chains
--ais-chains|16777217|expected an integer from 1 to 16777216
--ais-betas|1|invalid value '1' for --ais-betas
--ais-base|zero|expected uniform or data
--rows|0|invalid value '0' for --rows
--binarize|maybe|expected threshold, stochastic or none
--seed|-1|invalid value '-1' for --seed
--threads|1025|expected an integer from 0 to 1024
CASES
expect_exit 2 "--ais-chains applies only to AIS" \
    "${eval_base[@]}" --method exact --ais-chains 10
expect_exit 2 "--ais-base applies only to AIS" \
    "${eval_base[@]}" --method exact --ais-base uniform

sample_base=(sample --model "$model" --count 4 --steps 1 --out "$tmp/s.png")
expect_exit 2 "missing required option --count" \
    sample --model "$model" --steps 1 --out "$tmp/s.png"
expect_exit 2 "missing required option --steps" \
    sample --model "$model" --count 4 --out "$tmp/s.png"
expect_exit 2 "missing required option --out" \
    sample --model "$model" --count 4 --steps 1
while IFS='|' read -r option value text; do
    expect_exit 2 "$text" "${sample_base[@]}" "$option" "$value"
done <<'CASES'
--temperature|0|expected a decimal number > 0
--temperature|nan|invalid value 'nan' for --temperature
--init|zeros|expected random or data
--init|data|--init data needs --data FILE
--clamp|middle:3|invalid value 'middle:3' for --clamp
--clamp|top|invalid value 'top' for --clamp
--clamp|top:0|invalid value '0' for --clamp
--clamp|top:x|invalid value 'x' for --clamp
--columns|0|invalid value '0' for --columns
--seed|0x1|invalid value '0x1' for --seed
CASES
expect_exit 2 "invalid value '0' for --count" \
    sample --model "$model" --count 0 --steps 1 --out "$tmp/s.png"
expect_exit 2 "invalid value '0' for --steps" \
    sample --model "$model" --count 4 --steps 0 --out "$tmp/s.png"
expect_exit 2 "--data applies only to --init data" \
    "${sample_base[@]}" --init random --data "$data"
expect_exit 2 "--binarize applies only to --init data" \
    "${sample_base[@]}" --binarize none
expect_exit 2 "missing required option --out" filters --model "$model"
expect_exit 2 "invalid value '0' for --count" \
    filters --model "$model" --out "$tmp/f.png" --count 0
expect_exit 2 "invalid value '0' for --columns" \
    filters --model "$model" --out "$tmp/f.png" --columns 0

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
expect_exit 1 "a model needs rows of several values, such as images" \
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

# --- eval, sample and filters ---------------------------------------------

# $model ($tmp/a.npz) has 784 visible and 16 hidden units.
few=(--data "$data" --rows 300)

# png.py: decodes 8-bit grayscale PNG files (every filter type) and
# compares the clamped pixels of samples with the binarized data.
cat >"$tmp/png.py" <<'PYTHON'
import gzip, struct, sys, zlib

def read_png(path):
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "no PNG signature"
    pos, idat = 8, b""
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, color, _, _, interlace = \
                struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    assert (depth, color, interlace) == (8, 0, 0), "not 8-bit gray"
    raw = zlib.decompress(idat)
    rows, previous = [], bytearray(width)
    for y in range(height):
        start = y * (width + 1)
        kind, line = raw[start], bytearray(raw[start + 1:start + 1 + width])
        for x in range(width):
            a = line[x - 1] if x else 0
            b = previous[x]
            c = previous[x - 1] if x else 0
            if kind == 1:
                predicted = a
            elif kind == 2:
                predicted = b
            elif kind == 3:
                predicted = (a + b) // 2
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                predicted = a if pa <= pb and pa <= pc else \
                    b if pb <= pc else c
            else:
                predicted = 0
            line[x] = (line[x] + predicted) & 255
        rows.append(line)
        previous = line
    return width, height, rows

def check_clamp(png, idx, count, columns, side, size):
    """The clamped pixels of sample j equal row j of the data, binarized
    at 0.5: bytes of 128 and more are 1, shown white (255), others black
    (0), unless the whole sample is constant (gray 128)."""
    _, _, rows = read_png(png)
    data = gzip.open(idx).read()[16:]
    for j in range(count):
        left = 1 + (j % columns) * 29
        top = 1 + (j // columns) * 29
        image = [rows[top + y][left + x] for y in range(28)
                 for x in range(28)]
        constant = all(v == 128 for v in image)
        for i in range(784):
            y, x = divmod(i, 28)
            clamped = {"top": y < size, "bottom": y >= 28 - size,
                       "left": x < size, "right": x >= 28 - size}[side]
            if not clamped:
                continue
            bit = data[j * 784 + i] >= 128
            if constant:
                assert all(data[j * 784 + k] >= 128 for k in range(784)) \
                    == bit
            else:
                assert image[i] == (255 if bit else 0), \
                    "sample %d pixel %d is %d" % (j, i, image[i])

if sys.argv[1] == "size":
    width, height, _ = read_png(sys.argv[2])
    print("%dx%d" % (width, height))
else:
    check_clamp(sys.argv[2], sys.argv[3], int(sys.argv[4]),
                int(sys.argv[5]), sys.argv[6], int(sys.argv[7]))
PYTHON

# check_png FILE [WxH]: FILE must start with the PNG signature and, if
# Python is there, decode to a picture of W x H pixels.
check_png() {
    checks=$((checks + 1))
    if [ "$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')" \
        != "89504e470d0a1a0a" ]; then
        fail "$1 does not start with the PNG signature"
        return
    fi
    if [ $# -ge 2 ] && [ -x "$python" ]; then
        local size
        size=$("$python" "$tmp/png.py" size "$1") \
            || fail "$1 cannot be decoded"
        [ "$size" = "$2" ] || fail "$1 is $size pixels, expected $2"
    fi
}

# check_eval_json KIND: the JSON object in $tmp/stdout must have finite
# numbers, method KIND and log_z within its bounds.
check_eval_json() {
    checks=$((checks + 1))
    [ -x "$python" ] || return
    "$python" -c '
import json, math, sys
r = json.load(open(sys.argv[1]))
assert r["method"] == sys.argv[2], r["method"]
for key in ["log_z", "log_z_high", "mean_loglik", "pseudo_loglik",
            "recon_error", "seconds"]:
    assert isinstance(r[key], float) and math.isfinite(r[key]), key
low = r["log_z_low"]
assert low is None or low <= r["log_z"] <= r["log_z_high"], r
assert r["mean_loglik"] < 0, r
assert r["pseudo_loglik"] < 0, r
assert r["recon_error"] >= 0, r
if sys.argv[2] == "exact":
    assert low == r["log_z"] == r["log_z_high"], r
    assert "ais_chains" not in r, r
else:
    assert r["ais_chains"] == 20, r
    assert r["ais_betas"] == 200, r
' "$tmp/stdout" "$1" || fail "ebm eval --json: $(cat "$tmp/stdout")"
}

# json_value KEY: prints the number KEY of the JSON object in $tmp/stdout.
json_value() {
    sed -n "s/.*\"$1\": \([^,}]*\).*/\1/p" "$tmp/stdout"
}

expect_success '"method": "exact"' \
    eval --model "$model" "${few[@]}" --method exact --json
check_eval_json exact
exact_log_z=$(json_value log_z)
expect_success '"method": "exact"' eval --model "$model" "${few[@]}" --json
expect_success '"method": "ais"' eval --model "$model" "${few[@]}" \
    --method ais --ais-betas 200 --ais-chains 20 --json
check_eval_json ais
ais_log_z=$(json_value log_z)
# The AIS estimate is within 1 nat of the exact value for this small model.
checks=$((checks + 1))
awk -v a="$ais_log_z" -v e="$exact_log_z" \
    'BEGIN { d = a - e; exit !(d < 1 && d > -1) }' \
    || fail "AIS log Z $ais_log_z is far from the exact $exact_log_z"
checks=$((checks + 1))
[ -s "$tmp/stderr" ] && fail "ebm eval wrote to stderr, which is not a \
terminal: $(cat -A "$tmp/stderr")"
expect_success '"reverse_log_z": ' eval --model "$model" "${few[@]}" \
    --method ais --ais-betas 200 --ais-chains 20 --reverse --ais-base uniform \
    --seed 3 --json
expect_success "mean_loglik " eval --model "$model" "${few[@]}" --reverse \
    --ais-betas 200 --ais-chains 20 --method exact
grep -q "^method  *exact, 2^16 states of the hidden layer" "$tmp/stdout" \
    || fail "ebm eval table: $(cat "$tmp/stdout")"
grep -q "^reverse_log_z  *[0-9]" "$tmp/stdout" \
    || fail "ebm eval --reverse table: $(cat "$tmp/stdout")"

# A model whose visible size differs from the data, one too large to
# enumerate, and data that are not binary.
printf '\0\0\10\2\0\0\0\3\0\0\0\5%015d' 0 >"$tmp/five.idx"
expect_exit 1 "model '$model' has 784 visible units, but the rows of" \
    eval --model "$model" --data "$tmp/five.idx"
expect_exit 1 "cannot read model '$tmp/missing.npz'" \
    eval --model "$tmp/missing.npz" --data "$data"
expect_exit 2 "--rows 10001 exceeds the 10000 rows" \
    eval --model "$model" --data "$data" --rows 10001
run train --data "$data" --rows 100 --hidden 40 --epochs 1 --out "$tmp/h40.npz"
expect_exit 1 "above the limit of 2^32; use --method ais" \
    eval --model "$tmp/h40.npz" "${few[@]}" --method exact
expect_exit 1 "use --binarize threshold or stochastic" \
    eval --model "$model" "${few[@]}" --binarize none

expect_success "wrote 9 samples after 5 Gibbs steps" \
    sample --model "$model" --count 9 --steps 5 --out "$tmp/s.png"
check_png "$tmp/s.png" 88x88
expect_success "wrote 6 probability images" \
    sample --model "$model" --count 6 --steps 5 --probabilities \
    --temperature 2 --columns 2 --seed 9 --out "$tmp/p.png"
check_png "$tmp/p.png" 59x88
for clamp in top:14 bottom:10 left:5 right:20; do
    expect_success "wrote 8 samples" sample --model "$model" --count 8 \
        --steps 3 --init data --data "$data" --clamp "$clamp" \
        --out "$tmp/c.png"
    check_png "$tmp/c.png" 88x88
    if [ -x "$python" ]; then
        checks=$((checks + 1))
        "$python" "$tmp/png.py" clamp "$tmp/c.png" "$data" 8 3 \
            "${clamp%:*}" "${clamp#*:}" \
            || fail "--clamp $clamp changed clamped pixels"
    fi
done
expect_success "wrote 4 samples" sample --model "$model" --count 4 \
    --steps 2 --data "$data" --binarize stochastic --image 16x49 \
    --out "$tmp/d.png"
check_png "$tmp/d.png" 35x101
expect_exit 2 "invalid value 'top:28' for --clamp: an image has 28 pixel" \
    "${sample_base[@]}" --clamp top:28
expect_exit 2 "--image 27x28 has 756 pixels, but the model has 784" \
    "${sample_base[@]}" --image 27x28
expect_exit 2 "invalid value '28' for --image: expected WIDTHxHEIGHT" \
    "${sample_base[@]}" --image 28
expect_exit 2 "--count 10001 exceeds the 10000 rows of '$data'" \
    sample --model "$model" --count 10001 --steps 1 --data "$data" \
    --out "$tmp/s.png"
expect_exit 2 "do not fit in one picture" \
    sample --model "$model" --count 400000 --steps 1 --out "$tmp/s.png"
expect_exit 1 "model '$model' has 784 visible units, but the rows of" \
    sample --model "$model" --count 2 --steps 1 --data "$tmp/five.idx" \
    --out "$tmp/s.png"
expect_exit 1 "cannot write picture '$tmp/no-such-dir/s.png'" \
    sample --model "$model" --count 2 --steps 1 \
    --out "$tmp/no-such-dir/s.png"

expect_success "wrote the filters of 16 of 16 hidden units" \
    filters --model "$model" --out "$tmp/f.png"
check_png "$tmp/f.png" 117x117
expect_success "wrote the filters of 5 of 16 hidden units" \
    filters --model "$model" --out "$tmp/f5.png" --count 5 --columns 5 \
    --image 56x14
check_png "$tmp/f5.png" 286x16
expect_exit 2 "invalid value '17' for --count: model '$model' has 16 hidden" \
    filters --model "$model" --out "$tmp/f.png" --count 17
expect_exit 2 "--image 10x10 has 100 pixels, but the model has 784 visible" \
    filters --model "$model" --out "$tmp/f.png" --image 10x10
run train --data "$tmp/five.idx" --hidden 2 --epochs 1 --valid-fraction 0 \
    --out "$tmp/d5.npz"
expect_exit 2 "the model's 5 visible units do not make a square image" \
    filters --model "$tmp/d5.npz" --out "$tmp/f.png"
expect_success "images of 5 x 1 pixels, 2 per row" \
    filters --model "$tmp/d5.npz" --out "$tmp/f.png" --image 5x1
check_png "$tmp/f.png" 13x3
expect_exit 1 "cannot write picture '$tmp/no-such-dir/f.png'" \
    filters --model "$model" --out "$tmp/no-such-dir/f.png"
for path in "$tmp/no-such-dir/s.png" "$tmp/no-such-dir/f.png"; do
    checks=$((checks + 1))
    [ -e "$path" ] && fail "a failed run created '$path'"
done

# --ais-every adds a column to the table and two keys to each JSON line.
checks=$((checks + 1))
run "${train[@]}" --seed 7 --ais-every 1 --ais-chains 20 --ais-betas 100 \
    --json --out "$tmp/i.npz"
if [ "$status" -ne 0 ]; then
    fail "--ais-every: exit status $status: $(cat "$tmp/stderr")"
elif [ -x "$python" ]; then
    "$python" -c '
import json, math, sys
lines = [json.loads(line) for line in open(sys.argv[1])]
assert len(lines) == 3, lines
assert list(lines[0])[5:7] == ["ais_log_z", "ais_loglik_valid"], lines[0]
assert lines[0]["ais_loglik_valid"] is None, lines[0]
for line in lines[1:]:
    assert math.isfinite(line["ais_log_z"]), line
    assert line["ais_loglik_valid"] < 0, line
' "$tmp/stdout" || fail "--ais-every --json: $(cat "$tmp/stdout")"
fi
expect_success "ais_ll_valid" "${train[@]}" --ais-every 2 --ais-betas 50 \
    --out "$tmp/j.npz"
grep -qE '^    1 +[0-9.]+ +-[0-9.]+ +-[0-9.]+ +-?[0-9.]+ +- ' "$tmp/stdout" \
    || fail "--ais-every 2: epoch 1 has an AIS value: $(cat "$tmp/stdout")"
grep -qE '^    2 +[0-9.]+ +-[0-9.]+ +-[0-9.]+ +-?[0-9.]+ +-[0-9.]+ ' \
    "$tmp/stdout" || fail "--ais-every 2: no value at epoch 2"
grep -q "ais_every=2 ais_chains=100 ais_betas=50" "$tmp/stdout" \
    || fail "--ais-every: settings line: $(head -n 1 "$tmp/stdout")"

# General Boltzmann machines: --model bm with its own options, and eval
# and sample on the models it saves.
bm_train=(train --data "$data" --rows 300 --epochs 2 --model bm)
expect_exit 2 "--lateral applies only to --model bm" "${train[@]}" \
    --lateral visible --out "$tmp/x.npz"
expect_exit 2 "needs --lateral visible" "${bm_train[@]}" --hidden 0 \
    --out "$tmp/x.npz"
expect_exit 2 "but --hidden is 0" "${bm_train[@]}" --hidden 0 \
    --lateral both --out "$tmp/x.npz"
expect_exit 2 "needs --lateral visible or both" "${bm_train[@]}" \
    --hidden 3 --lattice 28x28 --out "$tmp/x.npz"
expect_exit 2 "expected ROWSxCOLS" "${bm_train[@]}" --lateral visible \
    --hidden 3 --lattice 28 --out "$tmp/x.npz"
expect_exit 2 "has 27 x 28 sites" "${bm_train[@]}" --lateral visible \
    --hidden 3 --lattice 27x28 --out "$tmp/x.npz"
expect_exit 2 "--ais-every applies only to --model rbm" "${bm_train[@]}" \
    --hidden 3 --ais-every 1 --out "$tmp/x.npz"
expect_exit 2 "trains on binary rows" "${bm_train[@]}" --binarize none \
    --hidden 3 --out "$tmp/x.npz"
expect_exit 2 "invalid value 'fast' for --sampler" "${bm_train[@]}" \
    --hidden 3 --sampler fast --out "$tmp/x.npz"
expect_success "pll_valid" "${bm_train[@]}" --hidden 0 --lateral visible \
    --lattice 28x28 --pcd 1 --out "$tmp/fv.npz"
grep -q "couplings=V lattice=28x28" "$tmp/stdout" \
    || fail "--model bm settings line: $(head -n 1 "$tmp/stdout")"
expect_success "mf_gap" "${bm_train[@]}" --hidden 13 --lateral both --pcd 1 \
    --positive gibbs --positive-steps 2 --out "$tmp/bm.npz"
if [ -x "$python" ]; then
    "$python" -c '
import numpy as np, sys
f = np.load(sys.argv[1])
assert f["V"].shape == (784, 784), f.files
assert f["U"].shape == (13, 13), f.files
assert np.array_equal(f["V"], f["V"].T)
assert not np.diag(f["V"]).any()
assert f["W"].shape == (784, 13)
' "$tmp/bm.npz" || fail "--model bm: the saved arrays are wrong"
fi
run eval --model "$tmp/fv.npz" --data "$data" --rows 50 --ais-betas 100 \
    --ais-chains 20 --json
if [ "$status" -ne 0 ]; then
    fail "eval of a fully visible BM: $(cat "$tmp/stderr")"
elif [ -x "$python" ]; then
    "$python" -c '
import json, math, sys
r = json.loads(open(sys.argv[1]).read())
assert r["model_type"] == "bm", r
assert r["method"] == "ais", r
assert r["mean_loglik_kind"] == "exact_marginal", r
assert math.isfinite(r["log_z"]), r
assert r["mean_loglik"] < 0, r
assert r["pseudo_loglik"] < 0, r
assert r["recon_error"] is None, r
' "$tmp/stdout" || fail "eval of a fully visible BM: $(cat "$tmp/stdout")"
fi
# 13 hidden units are too many to sum out, so the bound is reported.
expect_success "mean_field_bound" eval --model "$tmp/bm.npz" --data "$data" \
    --rows 50 --ais-betas 100 --ais-chains 20
expect_exit 2 "--reverse is not available" eval --model "$tmp/bm.npz" \
    --data "$data" --rows 50 --reverse
expect_success "general BM" info --model "$tmp/bm.npz"
grep -qE '^U +' "$tmp/stdout" || fail "info of a BM: no row for U"
expect_success "wrote 4 samples" sample --model "$tmp/bm.npz" --count 4 \
    --steps 3 --out "$tmp/bm.png"
expect_exit 2 "--probabilities applies to RBMs" sample --model "$tmp/bm.npz" \
    --count 4 --steps 3 --probabilities --out "$tmp/bm.png"

# Gaussian visible units: --visible gaussian, whitening, singular values,
# and eval, filters and sample on the saved model.
gb_train=(train --data "$data" --rows 300 --epochs 2 --hidden 8 --lr 0.001
    --visible gaussian)
expect_exit 2 "--learn-sigma applies only to --visible gaussian" \
    "${train[@]}" --learn-sigma --out "$tmp/x.npz"
expect_exit 2 "cannot be combined with --model bm" "${gb_train[@]}" \
    --model bm --out "$tmp/x.npz"
expect_exit 2 "--sigma-lr-factor applies only with --learn-sigma" \
    "${gb_train[@]}" --sigma-lr-factor 0.5 --out "$tmp/x.npz"
expect_exit 2 "invalid value 'pcb' for --whiten" "${gb_train[@]}" \
    --whiten pcb --out "$tmp/x.npz"
run "${gb_train[@]}" --whiten zca --learn-sigma --singular-values --json \
    --out "$tmp/gb.npz"
if [ "$status" -ne 0 ]; then
    fail "--visible gaussian: exit status $status: $(cat "$tmp/stderr")"
elif [ -x "$python" ]; then
    "$python" -c '
import json, math, sys
lines = [json.loads(line) for line in open(sys.argv[1])]
assert len(lines) == 3, lines
for line in lines:
    values = line["singular_values"]
    assert len(values) == 8, line
    assert values == sorted(values, reverse=True), line
    assert math.isfinite(line["recon_error"]), line
' "$tmp/stdout" || fail "--visible gaussian --json: $(cat "$tmp/stdout")"
    "$python" -c '
import numpy as np, sys
f = np.load(sys.argv[1])
assert f["log_sigma"].shape == (784,), f.files
assert f["W"].shape == (784, 8), f.files
assert f["whiten_matrix"].shape == (784, 784), f.files
' "$tmp/gb.npz" || fail "--visible gaussian: the saved arrays are wrong"
fi
run eval --model "$tmp/gb.npz" --data "$data" --rows 50 --json
if [ "$status" -ne 0 ]; then
    fail "eval of a Gaussian model: $(cat "$tmp/stderr")"
elif [ -x "$python" ]; then
    "$python" -c '
import json, math, sys
r = json.loads(open(sys.argv[1]).read())
assert r["model_type"] == "gbrbm", r
assert r["method"] == "exact", r
assert r["binarize"] == "none", r
assert math.isfinite(r["mean_loglik"]), r
assert math.isfinite(r["whiten_log_det"]), r
' "$tmp/stdout" || fail "eval of a Gaussian model: $(cat "$tmp/stdout")"
fi
expect_success "mapped back through the whitening" filters \
    --model "$tmp/gb.npz" --out "$tmp/gbf.png"
expect_success "visible means" sample --model "$tmp/gb.npz" --count 4 \
    --steps 3 --out "$tmp/gbs.png"
expect_exit 2 "--clamp applies to binary models" sample \
    --model "$tmp/gb.npz" --count 4 --steps 3 --clamp top:14 \
    --out "$tmp/gbs.png"

# The loaders' own errors reach the user: a BM file whose V is not
# symmetric, written with NumPy.
if [ -x "$python" ]; then
    "$python" -c '
import numpy as np, sys
v = np.zeros((784, 784), np.float32)
v[0, 1] = 1.0
np.savez(sys.argv[1], format_version=np.int32(1),
         visible_bias=np.zeros(784, np.float32),
         hidden_bias=np.zeros(0, np.float32), V=v)
' "$tmp/asym.npz" || fail "writing an asymmetric BM file"
    expect_exit 1 "the couplings must be symmetric" eval \
        --model "$tmp/asym.npz" --data "$data" --rows 10
    expect_exit 1 "the couplings must be symmetric" info \
        --model "$tmp/asym.npz"
fi
expect_success "Gaussian-Bernoulli RBM" info --model "$tmp/gb.npz"
grep -qE '^log_sigma +' "$tmp/stdout" || fail "info of a Gaussian model"
expect_success "wrote the filters of 13 of 13" filters --model "$tmp/bm.npz" \
    --out "$tmp/bmf.png"
expect_exit 1 "no hidden units" filters --model "$tmp/fv.npz" \
    --out "$tmp/fvf.png"
expect_exit 2 "--probabilities applies to binary models" sample \
    --model "$tmp/gb.npz" --count 4 --steps 3 --probabilities \
    --out "$tmp/gbs.png"

if [ "$failures" -ne 0 ]; then
    echo "$failures of $checks checks failed" >&2
    exit 1
fi
echo "all $checks checks passed"
