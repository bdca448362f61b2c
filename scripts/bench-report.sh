#!/usr/bin/env bash
# scripts/bench-report.sh BUILD_DIR OUT_DIR — `make bench-report`: run the
# benchmarks and draw what they measured with gnuplot (Debian's gnuplot-nox),
# for docs/performance.md:
#
#   OUT_DIR/bench-throughput.svg  goodput of one reliable channel against the
#                                 message size (peermesh bench throughput --size)
#   OUT_DIR/bench-setup.svg       the distribution of connection set-up times
#                                 (peermesh bench setup --samples)
#   OUT_DIR/bench-mesh.svg        mesh formation time against the number of peers
#                                 (peermesh bench mesh --peers N)
#   OUT_DIR/bench-report.jsonl    every result line, with the machine it ran on
#
# Everything runs on 127.0.0.1. A machine shared with other work makes single
# runs noisy: each throughput point is the best of BENCH_RUNS runs (default 3)
# of BENCH_SECONDS (default 2), each mesh point the median of BENCH_RUNS;
# BENCH_CONNECTIONS (default 200) set-ups make the distribution.
set -euo pipefail
BUILD=$(cd "${1:?usage: bench-report.sh BUILD_DIR OUT_DIR}" && pwd)
OUT=${2:?usage: bench-report.sh BUILD_DIR OUT_DIR}
PM="$BUILD/peermesh"
SECONDS_EACH=${BENCH_SECONDS:-2}
RUNS=${BENCH_RUNS:-3}
CONNECTIONS=${BENCH_CONNECTIONS:-200}
command -v gnuplot >/dev/null || { echo "bench-report: gnuplot is missing (scripts/install-deps.sh bench-report)" >&2; exit 1; }
mkdir -p "$OUT"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
JSONL="$OUT/bench-report.jsonl"
field() { sed -n "s/.*\"$1\":\\([0-9.]*\\).*/\\1/p"; } # a number of a JSON line
best() { sort -g | tail -n1; }                                  # of numbers, one a line
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

machine="$(nproc) cores, $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n1), $(uname -sr)"
printf '{"machine":"%s","date":"%s","version":"%s"}\n' "$machine" "$(date -u +%F)" \
  "$("$PM" version | cut -d' ' -f2)" >"$JSONL"

echo "bench-report: throughput against message size (best of $RUNS runs of $SECONDS_EACH s)"
for threads in 1 2; do
  : >"$WORK/throughput-$threads.dat"
  for size in 256 1024 4096 16384 65535 262144; do
    for _ in $(seq "$RUNS"); do
      "$PM" bench throughput --seconds "$SECONDS_EACH" --size "$size" --threads "$threads"
    done >"$WORK/runs"
    cat "$WORK/runs" >>"$JSONL"
    echo "$size $(field mb_per_s <"$WORK/runs" | best)" >>"$WORK/throughput-$threads.dat"
  done
done

echo "bench-report: set-up time of $CONNECTIONS connections"
line=$("$PM" bench setup --connections "$CONNECTIONS" --samples)
echo "$line" >>"$JSONL"
echo "$line" | sed 's/.*"samples_ms":\[\([^]]*\)\].*/\1/' | tr ',' '\n' |
  awk -v n="$CONNECTIONS" '{ printf "%s %.4f\n", $1, NR / n }' >"$WORK/setup.dat"
median=$(echo "$line" | field median_ms)
p99=$(echo "$line" | field p99_ms)

echo "bench-report: mesh formation against peers (median of $RUNS runs)"
: >"$WORK/mesh.dat"
for peers in 2 4 8 12 16 24; do
  for _ in $(seq "$RUNS"); do "$PM" bench mesh --peers "$peers" --seconds 0; done >"$WORK/runs"
  cat "$WORK/runs" >>"$JSONL"
  echo "$peers $(field connect_ms <"$WORK/runs" | median) $((peers * (peers - 1) / 2))" \
    >>"$WORK/mesh.dat"
done

gnuplot <<GNUPLOT
set terminal svg size 680,400 dynamic font "Helvetica,12" background rgb "white"
set grid lc rgb "#dddddd"
set key top left

set output "$OUT/bench-throughput.svg"
set title "One reliable data channel over loopback: goodput against message size (best run)"
set xlabel "message size (bytes)"
set ylabel "MB/s received"
set logscale x 4
set xtics ("256" 256, "1 KiB" 1024, "4 KiB" 4096, "16 KiB" 16384, "64 KiB" 65535, "256 KiB" 262144)
set yrange [0:*]
plot "$WORK/throughput-2.dat" using 1:2 with linespoints lw 2 pt 7 title "sender and receiver on their own threads", \
     "$WORK/throughput-1.dat" using 1:2 with linespoints lw 2 pt 5 title "both peers on one thread"
unset logscale x
set xtics auto

set output "$OUT/bench-setup.svg"
set title "Connection set-up (offer to channel open on both sides), $CONNECTIONS connections"
set xlabel "set-up time (ms)"
set ylabel "fraction of connections set up"
set yrange [0:1]
set logscale x 10
set key bottom right
plot "$WORK/setup.dat" using 1:2 with steps lw 2 title sprintf("median %s ms, p99 %s ms", "$median", "$p99")
unset logscale x

set output "$OUT/bench-mesh.svg"
set title "Mesh formation: every peer joins at once, until every link is connected (median)"
set xlabel "peers in the mesh"
set ylabel "time to a full mesh (ms)"
set y2label "links (connections)"
set y2tics
set yrange [0:*]
set y2range [0:*]
set key top left
plot "$WORK/mesh.dat" using 1:2 with linespoints lw 2 pt 7 title "time to a full mesh", \
     "$WORK/mesh.dat" using 1:3 axes x1y2 with linespoints lw 1 dt 2 pt 4 title "links: N(N-1)/2"
GNUPLOT
echo "bench-report: wrote $OUT/bench-throughput.svg, bench-setup.svg, bench-mesh.svg, bench-report.jsonl"
