#!/bin/bash
# The real daemon, a real inotify on a real temp dir, a simulated job.
. "$(dirname "$0")/lib.bash"
. "$(dirname "$0")/clinic.bash"
LISTEN="$B/tools/notify-listen"

# --- the clinic run, deleting what is not kept, with sd_notify
config del delete
"$LISTEN" "$T/notify.sock" "$T/notify.txt" & lpid=$!
sleep 0.2
NOTIFY_SOCKET="$T/notify.sock" WATCHDOG_USEC=400000 start del
run "$SIM" "$CSV" "$T/del" --after "$(after del)"
eq "daemon: job stopped after epoch 11" "$out" "stopped after epoch 11"
settle del 1 100   # one quiet look (0.25 s), at most 25 s
eq "daemon: best.ckpt -> epoch=8.ckpt" "$(readlink "$T/del/checkpoints/best.ckpt")" "epoch=8.ckpt"
eq "daemon: exactly epochs 8, 9 and 11 remain" "$(remaining del)" "epoch=8.ckpt epoch=9.ckpt epoch=11.ckpt "
eq "daemon: one early_stop event" "$(count_events del early_stop)" 1
eq "daemon: one degraded alert" "$(count_events del degraded)" 1
eq "daemon: promotions to 1..8, each once" "$(events del | grep '"promoted"' | sed 's/.*"key": *\([0-9]*\).*/\1/' | tr '\n' ' ')" "1 2 3 4 5 6 7 8 "
kill -HUP "$dpid"; sleep 0.5
echo "runs: [" >"$T/del.yaml.bad"; cp "$T/del.yaml" "$T/del.yaml.good"; cp "$T/del.yaml.bad" "$T/del.yaml"
kill -HUP "$dpid"; sleep 0.5
has "daemon: a bad config on SIGHUP is reported" "keeping the old one" "$(cat "$T/del.log")"
kill -0 "$dpid" 2>/dev/null && ok "daemon: still running after a bad reload" || not_ok "daemon: still running after a bad reload"
cp "$T/del.yaml.good" "$T/del.yaml"
stop
kill "$lpid" 2>/dev/null; wait "$lpid" 2>/dev/null
n=$(cat "$T/notify.txt")
has "sd_notify: READY=1" "READY=1" "$n"
has "sd_notify: STATUS" "STATUS=watching 1 run" "$n"
has "sd_notify: WATCHDOG=1" "WATCHDOG=1" "$n"
has "sd_notify: RELOADING=1" "RELOADING=1" "$n"
has "sd_notify: STOPPING=1" "STOPPING=1" "$n"

# --- alert hooks (argv, no shell of ours, JSON on stdin, env) and stalled
config hook delete "      stall: 1s" \
	"      exec: [\"/bin/sh\", \"-c\", 'cat > \"\$1-\$2-\$3.json\"; env | grep -e ^CKPTD_RUN= -e ^CKPTD_EVENT= -e ^CKPTD_KEY= | sort > \"\$1-\$2-\$3.env\"', \"hook\", \"$T/hook\", \"{event}\", \"{key}\"]"
start hook
run "$SIM" "$CSV" "$T/hook" --after "$(after hook)"
eq "hooks: job stopped after epoch 11" "$out" "stopped after epoch 11"
for i in $(seq 60); do [ -f "$T/hook-stalled-11.json" ] && break; sleep 0.1; done
has "hooks: degraded hook got the event JSON on stdin" '"event": "degraded"' "$(cat "$T/hook-degraded-10.json" 2>/dev/null)"
has "hooks: early_stop hook ran" '"event": "early_stop"' "$(cat "$T/hook-early_stop-11.json" 2>/dev/null)"
eq "hooks: environment" "$(cat "$T/hook-degraded-10.env" 2>/dev/null | tr '\n' ' ')" "CKPTD_EVENT=degraded CKPTD_KEY=10 CKPTD_RUN=clinic07 "
has "stalled: raised when no record came for 1 s" '"event": "stalled"' "$(events hook)"
sleep 1.5
eq "stalled: raised once for the same latest key" "$(count_events hook stalled)" 1
stop

# --- promotion by copy to a deploy dir (in a child process) and by hardlink
config copy delete "    promote: {method: copy, to: $T/deploy}"
start copy
run "$SIM" "$CSV" "$T/copy" --size 3000000 --after "$(after copy)"
eq "copy: job stopped after epoch 11" "$out" "stopped after epoch 11"
for i in $(seq 100); do grep -q '"checkpoint": "epoch=8.ckpt"' "$T/deploy/best.json" 2>/dev/null && break; sleep 0.1; done
if cmp -s "$T/deploy/best.ckpt" "$T/copy/checkpoints/epoch=8.ckpt"; then ok "copy: deploy/best.ckpt is epoch 8, byte for byte"; else
	not_ok "copy: deploy/best.ckpt is epoch 8, byte for byte" "$(ls -l "$T/deploy" 2>&1)"; fi
eq "copy: no link in the checkpoints dir" "$(ls "$T/copy/checkpoints" | grep -c '^best')" 0
eq "copy: promotions 1..8 each once" "$(events copy | grep '"promoted"' | sed 's/.*"key": *\([0-9]*\).*/\1/' | tr '\n' ' ')" "1 2 3 4 5 6 7 8 "
eq "copy: no temporaries in the deploy dir" "$(ls -A "$T/deploy" | grep -c tmp)" 0
stop
config hard delete "    promote: {method: hardlink}"
start hard
run "$SIM" "$CSV" "$T/hard" --after "$(after hard)"
settle hard 1 100   # one quiet look (0.25 s), at most 25 s
eq "hardlink: best.ckpt is epoch=8.ckpt's inode" "$(stat -c %i "$T/hard/checkpoints/best.ckpt")" "$(stat -c %i "$T/hard/checkpoints/epoch=8.ckpt")"
stop

# --- polling instead of inotify (watch: poll), as on NFS or past the
# inotify watch limit: the same decisions
config poll delete
sed -i "s|^state_dir:.*|&\nwatch: poll\npoll_interval: 300ms|" "$T/poll.yaml"
start poll
run "$SIM" "$CSV" "$T/poll" --after "$(after poll 20)"
eq "polling: job stopped after epoch 11" "$out" "stopped after epoch 11"
# a file is ready after two looks: wait for the last prune (at most 10 s)
for i in $(seq 100); do [ "$(remaining poll)" = "epoch=8.ckpt epoch=9.ckpt epoch=11.ckpt " ] && break; sleep 0.1; done
eq "polling: best.ckpt -> epoch=8.ckpt" "$(readlink "$T/poll/checkpoints/best.ckpt")" "epoch=8.ckpt"
eq "polling: exactly epochs 8, 9 and 11 remain" "$(remaining poll)" "epoch=8.ckpt epoch=9.ckpt epoch=11.ckpt "
has "polling: says it polls" "polling $T/poll/checkpoints every 300 ms" "$(cat "$T/poll.log")"
# a file written in place while polling is not ready until it stops changing
# (a writer appending every 30 ms, much faster than the 300 ms polls)
{ for i in $(seq 25); do head -c 1000 /dev/urandom; sleep 0.03; done; } >"$T/poll/checkpoints/epoch=12.ckpt" &
w=$!
sleep 0.3
printf '12,0.05,0.40,0.9,0.99,0.95\n' >>"$T/poll/metrics.csv"
sleep 0.2
eq "polling: a file still changing is not promoted" "$(readlink "$T/poll/checkpoints/best.ckpt")" "epoch=8.ckpt"
wait $w
for i in $(seq 40); do [ "$(readlink "$T/poll/checkpoints/best.ckpt")" = "epoch=12.ckpt" ] && break; sleep 0.1; done
eq "polling: promoted once it stopped changing" "$(readlink "$T/poll/checkpoints/best.ckpt")" "epoch=12.ckpt"
stop

done_testing
