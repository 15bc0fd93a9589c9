#!/bin/sh
# Fuzzes the wire decoder (fuzz/wire_decoder_fuzz.cpp) with libFuzzer for
# SECONDS (default 20). Builds into build-fuzz/ with clang++ and ASan + UBSan;
# needs no CAF. The corpus grows in build-fuzz/corpus/ from run to run;
# crashing inputs are written to build-fuzz/crashes/. Exits non-zero if the
# fuzzer finds a crash, a leak, undefined behaviour or a failed invariant.
#
#   ./scripts/fuzz.sh          # 20 s
#   ./scripts/fuzz.sh 600      # 10 minutes
#   build-fuzz/wire_decoder_fuzz build-fuzz/crashes/crash-...   # replay one input
set -eu
cd "$(dirname "$0")/.."

seconds="${1:-20}"
case "$seconds" in
  '' | *[!0-9]*) echo "usage: $0 [SECONDS]" >&2; exit 2 ;;
esac

cxx="${CXX_FUZZ:-clang++}"
if ! command -v "$cxx" >/dev/null 2>&1; then
  echo "fuzz: $cxx not found (./scripts/install-deps.sh installs clang)" >&2
  exit 1
fi

out=build-fuzz
mkdir -p "$out/corpus" "$out/crashes"
rm -rf "$out/seeds"
mkdir -p "$out/seeds"

echo "fuzz: building $out/wire_decoder_fuzz"
"$cxx" -std=c++17 -g -O1 -Wall -Wextra -Werror -I. \
  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  -fno-omit-frame-pointer \
  fuzz/wire_decoder_fuzz.cpp actors/tcp/wire.cpp actors/shared/file_name.cpp \
  -o "$out/wire_decoder_fuzz"

# Seeds: encoded messages, each after the fuzz target's first byte (bits 0-2:
# how many piece-size bytes follow, bit 3: small limits, see the target).
# Length fields in octal: 4 bytes big-endian + 4 zero bytes.
T='\000\000\000\000\000\000\000\000' # terminator
len() { printf '\\000\\000\\000\\%03o\\000\\000\\000\\000' "$1"; }
# shellcheck disable=SC2059 # the seed's bytes are the format, escapes and all
seed() { printf "$2" > "$out/seeds/$1"; }
# The small.log header of docs/wire-protocol.md with a 5-byte block, whole.
seed small "\000@\000\011small.log$(len 5)hello$T"
# Two messages, the second with two blocks, fed in pieces of 2 and 50 bytes.
seed two "\002\001\007@\000\005a.log$(len 3)abc$T@\000\005b.log$(len 2)de$(len 1)f$T"
# A message with no block, fed one byte at a time.
seed empty "\001\000@\000\011empty.log$T"
# Small limits (max_name 16, max_block 64): a block of exactly 64 bytes.
seed limit "\010@\000\001x$(len 64)$(printf '%064d' 0)$T"
# A hostile name after a good message.
seed hostile "\000@\000\001a$(len 1)x$T@\000\004../x$(len 1)y$T"
# A stream cut inside a block.
seed cut "\000@\000\001c$(len 16)partial"

echo "fuzz: running for ${seconds} s (log: $out/fuzz.log)"
if ! "$out/wire_decoder_fuzz" -max_total_time="$seconds" -timeout=10 -max_len=8192 \
     -artifact_prefix="$out/crashes/" -print_final_stats=1 \
     "$out/corpus" "$out/seeds" > "$out/fuzz.log" 2>&1; then
  tail -n 60 "$out/fuzz.log" >&2
  echo "fuzz: FAILED; the input that failed is in $out/crashes/ (replay: $out/wire_decoder_fuzz <file>)" >&2
  exit 1
fi
runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/fuzz.log")
echo "fuzz: no failure in ${runs:-?} runs; corpus: $(find "$out/corpus" -type f | wc -l) inputs"
