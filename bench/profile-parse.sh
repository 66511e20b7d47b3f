#!/usr/bin/env bash
# Profile parsing must be linear in the file's size (issue 10: 20,000 keys took 2.2 s and 8,000
# [[classify]] tables 6.7 s). Times `airun profile check` on N and 10 N keys and tables; a linear
# parser gives ratios near 10, a quadratic one near 100. Usage: bench/profile-parse.sh [N]
source "$(dirname "$0")/common.sh"
n=${1:-1000}  # 10 N tables stay under the 1 MiB a profile may have
keys() { python3 -c "import sys; n=int(sys.argv[1]); print('[retry]'); print('\n'.join(f'# {i}\nattempts = 1' if i == 0 else f'# key {i}' for i in range(n)))" "$1"; }
inline() { python3 -c "import sys; n=int(sys.argv[1]); print('description = \"x\"'); print('[redaction]'); print('allow = [' + ', '.join(f'\"v{i}\"' for i in range(n)) + ']')" "$1"; }
tables() { python3 -c "import sys; n=int(sys.argv[1]); print(''.join(f'[[classify]]\nname = \"r{i}\"\ncode = \"GPU_OOM\"\nphrases = [\"x{i}\"]\n' for i in range(n)))" "$1"; }
for kind in inline tables; do
  "$kind" "$n" > "$BENCH_TMP/small.toml"
  "$kind" $((n * 10)) > "$BENCH_TMP/large.toml"
  small=$(median_seconds 3 "'$AIRUN' profile check '$BENCH_TMP/small.toml' >/dev/null")
  large=$(median_seconds 3 "'$AIRUN' profile check '$BENCH_TMP/large.toml' >/dev/null")
  awk -v k="$kind" -v n="$n" -v s="$small" -v l="$large" \
    'BEGIN { printf "%-7s %6d: %.3f s, %7d: %.3f s, ratio %.1f (linear ~10, quadratic ~100)\n", k, n, s, n * 10, l, l / s }'
done
