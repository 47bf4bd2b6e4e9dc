#!/bin/sh
# make demo: ckptd beside a simulated training job on the worked example.
# The job replays examples/clinic07 epoch by epoch (a metrics row, then a
# checkpoint saved to a temporary and renamed), and stops when it finds
# the STOP file ckptd writes; ckptd promotes, alerts, compresses, stops.
B=${1:-build}
cd "$(dirname "$0")/.." || exit 1
ROOT=$(pwd)
LOG=examples/clinic07/metrics.csv
D=$(mktemp -d /tmp/ckptd-demo.XXXXXX) || exit 1
trap 'kill "$pid" 2>/dev/null; rm -rf "$D"' EXIT
RUN="$D/clinic07"
mkdir -p "$RUN"
sed -e "s|^state_dir:.*|state_dir: $D/state|" -e "s|^\\( *dir:\\).*|\\1 $RUN|" \
	-e "s|action: delete|action: compress|" config/examples/clinic.yaml >"$D/ckptd.yaml"

echo "== the run: 15 epochs of a CNN on a medical task ($LOG)"
sed 's/,/ /g' "$LOG" | awk '{ printf "  %-6s %-11s %-9s %-13s %-16s %s\n", $1, $2, $3, $4, $5, $6 }'
echo
echo "== the policy (config/examples/clinic.yaml): ship the best val_sensitivity,"
echo "   stop after 3 epochs without a better val_loss, keep the best 2 and the"
echo "   last checkpoint, compress the rest"
"$B/ckptctl" check -c "$D/ckptd.yaml" >/dev/null || exit 1
echo
echo "== ckptd and the training job, epoch by epoch"
"$B/ckptd" -c "$D/ckptd.yaml" 2>"$D/ckptd.log" &
pid=$!
bash tests/sim/trainer.sh "$LOG" "$RUN" --size 65536 \
	--after "bash '$ROOT/tests/sim/wait-state.sh' '$D/state/clinic07/state.json' \$epoch \"epoch=\$epoch.ckpt\" && echo \"  job: finished epoch \$epoch\"" ||
	{ echo "demo: the job failed" >&2; exit 1; }
sleep 1   # the last compressions finish
kill -TERM "$pid"
wait "$pid"
echo
echo "== what ckptd did (its log)"
sed -e 's/^ckptd: /  /' "$D/ckptd.log"
echo
echo "== the checkpoints dir now"
listing() { # DIR: name, size, link target
	find "$1" -mindepth 1 -maxdepth 1 -printf '%f\t%s\t%l\n' | sort -t= -k2 -n |
		awk -F'\t' '{ if ($3 != "") printf "  %-18s -> %s\n", $1, $3; else printf "  %-18s %8d bytes\n", $1, $2 }'
}
listing "$RUN/checkpoints"
echo
echo "== compressed into $RUN/archive"
listing "$RUN/archive"
echo
echo "== \$ ckptctl status"
"$B/ckptctl" status -c "$D/ckptd.yaml"
echo
echo "== \$ ckptctl pick (why epoch 8, offline from the log)"
"$B/ckptctl" pick -c "$D/ckptd.yaml" -r clinic07
