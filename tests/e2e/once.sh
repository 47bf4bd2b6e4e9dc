#!/bin/bash
# ckptd --once driven by a simulated training job: after every epoch the
# job runs `ckptd --once`, as a timer would.  Each call is a fresh process
# that must pick up its state, so these tests also show that a restart
# repeats no action and no event.
. "$(dirname "$0")/lib.bash"
. "$(dirname "$0")/clinic.bash"

# --- the clinic run, pruning by deletion
config del delete
run "$SIM" "$CSV" "$T/del" --after "$(after_once del)"
eq "delete: job stopped after epoch 11" "$out" "stopped after epoch 11"
eq "delete: best.ckpt -> epoch=8.ckpt" "$(readlink "$T/del/checkpoints/best.ckpt")" "epoch=8.ckpt"
eq "delete: exactly epochs 8, 9 and 11 remain" "$(remaining del)" "epoch=8.ckpt epoch=9.ckpt epoch=11.ckpt "
has "delete: STOP holds the reason" '"reason":"patience"' "$(cat "$T/del/STOP" 2>/dev/null)"
eq "delete: one early_stop event" "$(count_events del early_stop)" 1
eq "delete: one degraded alert" "$(count_events del degraded)" 1
eq "delete: promotions to 1..8, each once" "$(events del | grep '"promoted"' | sed 's/.*"key": *\([0-9]*\).*/\1/' | tr '\n' ' ')" "1 2 3 4 5 6 7 8 "
eq "delete: 8 checkpoints pruned" "$(count_events del pruned)" 8
has "delete: manifest names the checkpoint" '"checkpoint": "epoch=8.ckpt"' "$(cat "$T/del/checkpoints/best.json")"
eq "delete: state dir is 0700" "$(stat -c %a "$T/del-state/clinic07")" 700

# running again changes nothing and repeats no event
before=$(events del | wc -l)
"$CKPTD" -c "$T/del.yaml" --once 2>/dev/null
"$CKPTD" -c "$T/del.yaml" --once 2>/dev/null
eq "delete: rerun repeats no event" "$(events del | wc -l)" "$before"
eq "delete: rerun keeps the files" "$(remaining del)" "epoch=8.ckpt epoch=9.ckpt epoch=11.ckpt "

# --- the same with compression: archives decompress to the originals
config zst compress
mkdir -p "$T/zst-orig"
run "$SIM" "$CSV" "$T/zst" --after "cp -p '$T'/zst/checkpoints/epoch=*.ckpt '$T/zst-orig/' 2>/dev/null; $(after_once zst)"
eq "compress: job stopped after epoch 11" "$out" "stopped after epoch 11"
eq "compress: exactly epochs 8, 9 and 11 remain" "$(remaining zst)" "epoch=8.ckpt epoch=9.ckpt epoch=11.ckpt "
eq "compress: every archive decompresses to its original" "$(bad_archives zst)" ""
eq "compress: no temporaries left" "$(find "$T/zst" -name '*.tmp' | wc -l)" 0

# --- directory checkpoints with a commit marker
config dirs compress
sed -i 's|pattern: "epoch={epoch}.ckpt"}|pattern: "epoch={epoch}.ckpt", ready: "marker:COMMIT"}|' "$T/dirs.yaml"
run "$SIM" "$CSV" "$T/dirs" --save dir --after "$(after_once dirs)"
eq "dirs: job stopped after epoch 11" "$out" "stopped after epoch 11"
eq "dirs: best.ckpt -> epoch=8.ckpt" "$(readlink "$T/dirs/checkpoints/best.ckpt")" "epoch=8.ckpt"
mkdir -p "$T/dirs-x" && tar --zstd -xf "$T/dirs/archive/epoch=3.ckpt.tar.zst" -C "$T/dirs-x" 2>/dev/null
eq "dirs: tar.zst holds the directory" "$(ls "$T/dirs-x/epoch=3.ckpt" 2>/dev/null | tr '\n' ' ')" "COMMIT meta.json model.bin "

# --- checkpoints that land before their metrics
config late delete
run "$SIM" "$CSV" "$T/late" --order ckpt-first --after "$(after_once late)"
eq "ckpt-first: job stopped after epoch 11" "$out" "stopped after epoch 11"
eq "ckpt-first: exactly epochs 8, 9 and 11 remain" "$(remaining late)" "epoch=8.ckpt epoch=9.ckpt epoch=11.ckpt "

# --- dry run: nothing changes in the run dir
config dry delete
"$SIM" "$CSV" "$T/dry" >/dev/null
snap() { (cd "$T/dry" && find . -printf '%p %s %T@\n' | sort); }
before=$(snap)
run "$CKPTD" -c "$T/dry.yaml" --once --dry-run
eq "dry-run: exit 0" "$rc" 0
eq "dry-run: run dir unchanged" "$(snap)" "$before"
has "dry-run: says it would promote" "would promote epoch=8.ckpt" "$err"
has "dry-run: says it would prune" "would prune epoch=1.ckpt" "$err"
has "dry-run: says it would stop" "would stop: touch" "$err"
eq "dry-run: no events" "$(events dry | wc -l)" 0

# --- a symlink named like a checkpoint, pointing outside: never touched
config link delete
mkdir -p "$T/outside" "$T/link/checkpoints"
echo precious >"$T/outside/weights"
ln -s "$T/outside/weights" "$T/link/checkpoints/epoch=1.ckpt"
"$SIM" "$CSV" "$T/link" >/dev/null 2>&1   # its own epoch=1 save replaces the link: use another name
ln -sfn "$T/outside/weights" "$T/link/checkpoints/epoch=99.ckpt"
ln -sfn "$T/outside" "$T/link/checkpoints/epoch=98.ckpt"
"$CKPTD" -c "$T/link.yaml" --once 2>/dev/null
eq "symlink: still a link" "$(readlink "$T/link/checkpoints/epoch=99.ckpt")" "$T/outside/weights"
eq "symlink: target intact" "$(cat "$T/outside/weights")" "precious"
eq "symlink to a dir: still there" "$(readlink "$T/link/checkpoints/epoch=98.ckpt")" "$T/outside"
eq "symlink: never promoted" "$(readlink "$T/link/checkpoints/best.ckpt")" "epoch=8.ckpt"

# --- early stop by signal: TERM to the pid in the pidfile, once
config sig delete
sed -i 's|action: {touch: STOP}|action: {signal: TERM, pidfile: job.pid}|' "$T/sig.yaml"
"$SIM" "$CSV" "$T/sig" >/dev/null
sleep 300 & job=$!
echo "$job" >"$T/sig/job.pid"
"$CKPTD" -c "$T/sig.yaml" --once 2>/dev/null
for i in $(seq 50); do kill -0 "$job" 2>/dev/null || break; sleep 0.1; done
wait "$job" 2>/dev/null; st=$?
eq "signal: the job got SIGTERM" "$st" "$((128 + 15))"
sleep 300 & job2=$!
echo "$job2" >"$T/sig/job.pid"
"$CKPTD" -c "$T/sig.yaml" --once 2>/dev/null
sleep 0.2
if kill -0 "$job2" 2>/dev/null; then ok "signal: sent once per run, not again on a rerun"; else
	not_ok "signal: sent once per run, not again on a rerun"; fi
kill "$job2" 2>/dev/null
eq "signal: one early_stop event" "$(count_events sig early_stop)" 1
# a pidfile naming init (or 0, or garbage) is refused, never signalled
config sig1 delete
sed -i 's|action: {touch: STOP}|action: {signal: TERM, pidfile: job.pid}|' "$T/sig1.yaml"
"$SIM" "$CSV" "$T/sig1" >/dev/null
echo 1 >"$T/sig1/job.pid"
run "$CKPTD" -c "$T/sig1.yaml" --once
has "signal: pid 1 refused" "early stop: signal 15 to the pid in $T/sig1/job.pid: Invalid argument" "$err"
has "signal: the event says an action failed" '"failed_actions": 1' "$(events sig1)"

done_testing
