#!/bin/sh
# make bench: how fast `ckptctl pick` reads a large log (csv, jsonl and
# zstd-compressed csv).  Figures, not assertions: the machine is shared.
B=${1:-build}
ROWS=${ROWS:-1000000}
T=$(mktemp -d /tmp/ckptd-bench.XXXXXX) || exit 1
trap 'rm -rf "$T"' EXIT
awk -v n="$ROWS" 'BEGIN {
	print "step,epoch,train_loss,val_loss,val_acc,lr"
	for (i = 1; i <= n; i++)
		printf "%d,%d,%.6f,%.6f,%.6f,%.8f\n", i, int(i / 1000), 1 / (1 + i / 1e5), 0.5 + ((i * 7919) % 1000) / 1e4, 0.9 - ((i * 104729) % 1000) / 1e5, 0.001
}' >"$T/m.csv"
awk -F, 'NR > 1 { printf "{\"step\": %s, \"epoch\": %s, \"train/loss\": %s, \"val\": {\"loss\": %s, \"acc\": %s}, \"lr\": %s}\n", $1, $2, $3, $4, $5, $6 }' \
	"$T/m.csv" >"$T/m.jsonl"
zstd -q -3 -o "$T/m.csv.zst" "$T/m.csv"

bench() { # label file args...
	f=$1; shift
	size=$(stat -c %s "$f")
	start=$(date +%s.%N)
	"$B/ckptctl" pick --key step "$@" "$f" >/dev/null || { echo "bench: pick failed on $f" >&2; exit 1; }
	end=$(date +%s.%N)
	awk -v s="$start" -v e="$end" -v b="$size" -v f="$(basename "$f")" -v r="$ROWS" \
		'BEGIN { t = e - s; printf "%-10s %8.1f MB %7.2f s %8.1f MB/s %9.0f rows/s\n", f, b / 1e6, t, b / 1e6 / t, r / t }'
}
echo "ckptctl pick over $ROWS records (one run each; MB/s of the file as stored):"
bench "$T/m.csv" --by val_loss
bench "$T/m.jsonl" --by val.loss
bench "$T/m.csv.zst" --by val_loss
