#!/bin/bash
# A simulated training job: replays a metrics table epoch by epoch the way
# real trainers write, and honours a STOP file.
#
#   trainer.sh TABLE RUN_DIR [options]
#     --save rename|inplace|dir   how checkpoints are written (default rename:
#                                 a temporary, then rename, as torch.save users
#                                 and Lightning do; inplace: written in pieces
#                                 under the final name, as Keras does; dir: a
#                                 directory with a COMMIT marker written last)
#     --order metrics-first|ckpt-first   which lands first for an epoch
#     --after CMD                 run CMD after each epoch (e.g. ckptd --once)
#     --size BYTES                checkpoint size (default 4096)
# Writes RUN_DIR/metrics.csv and RUN_DIR/checkpoints/epoch=N.ckpt, and
# RUN_DIR/train.pid; prints "stopped after epoch N" when it saw STOP.
set -u
table=$1 dir=$2; shift 2
save=rename order=metrics-first after="" size=4096
while [ $# -gt 0 ]; do
	case $1 in
	--save) save=$2; shift 2 ;;
	--order) order=$2; shift 2 ;;
	--after) after=$2; shift 2 ;;
	--size) size=$2; shift 2 ;;
	*) echo "trainer: unknown option $1" >&2; exit 64 ;;
	esac
done
mkdir -p "$dir/checkpoints"
echo $$ >"$dir/train.pid"
ck="$dir/checkpoints"

# like trained weights: some entropy, much redundancy (compresses ~4:1)
weights() { # bytes
	head -c "$(($1 / 4))" /dev/urandom
	head -c "$(($1 - $1 / 4))" /dev/zero | tr '\0' 'w'
}

save_ckpt() { # epoch
	local name="epoch=$1.ckpt"
	case $save in
	rename)
		weights "$size" >"$ck/.$name.tmp"
		echo "weights of epoch $1" >>"$ck/.$name.tmp"
		mv "$ck/.$name.tmp" "$ck/$name" ;;
	inplace)
		head -c "$((size / 2))" /dev/urandom >"$ck/$name"
		head -c "$((size / 2))" /dev/urandom >>"$ck/$name"
		echo "weights of epoch $1" >>"$ck/$name" ;;
	dir)
		mkdir -p "$ck/$name"
		weights "$size" >"$ck/$name/model.bin"
		echo "{\"epoch\": $1}" >"$ck/$name/meta.json"
		: >"$ck/$name/COMMIT" ;;
	esac
}

header=$(head -n 1 "$table")
[ -e "$dir/metrics.csv" ] || echo "$header" >"$dir/metrics.csv"
tail -n +2 "$table" | while IFS= read -r row; do
	epoch=${row%%,*}
	if [ -e "$dir/STOP" ]; then
		echo "stopped after epoch $((epoch - 1))"
		break
	fi
	if [ "$order" = metrics-first ]; then
		echo "$row" >>"$dir/metrics.csv"
		save_ckpt "$epoch"
	else
		save_ckpt "$epoch"
		echo "$row" >>"$dir/metrics.csv"
	fi
	[ -z "$after" ] || eval "$after" || exit 1
done
