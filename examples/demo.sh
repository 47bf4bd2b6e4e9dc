#!/bin/sh
# make demo: what ckptd decides on the worked example (examples/clinic07).
# The daemon's live demo (a simulated training job, promotions, pruning,
# early stop) comes with the watch loop; until then this shows the
# offline decision the daemon will act on.
B=${1:-build}
cd "$(dirname "$0")/.." || exit 1
LOG=examples/clinic07/metrics.csv
echo "== the run: 15 epochs of a CNN on a medical task ($LOG)"
sed 's/,/\t/g' "$LOG" | column -t 2>/dev/null || cat "$LOG"
echo
echo "== \$ ckptctl pick --by val_sensitivity:max --stop val_loss:min --patience 3 $LOG"
"$B/ckptctl" pick --by val_sensitivity:max --stop val_loss:min --patience 3 "$LOG" || exit 1
echo
echo "== the same from the example config (config/examples/clinic.yaml, run clinic07)"
"$B/ckptctl" check -c config/examples/clinic.yaml || exit 1
"$B/ckptctl" pick -c config/examples/clinic.yaml -r clinic07 "$LOG" | head -n 2 || exit 1
echo
echo "(the live daemon demo - best.ckpt promoted, epochs pruned, the job stopped"
echo " after epoch 11 - comes with ckptd's watch loop)"
