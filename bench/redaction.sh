#!/usr/bin/env bash
# Redaction and classification of a 64 KiB output tail, the work airun does per record and per
# failure, against a plain bytes round trip of the same tail measured in the same run.
# Target (issue 6): redacting a 64 KiB tail takes well under a millisecond. Also the prompt check
# (issue 11): a 128k-piece vocabulary read and a 100 KB prompt bounded, once per cut llama.cpp log.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product airun-bench >/dev/null 2>&1
.build/release/airun-bench redaction
.build/release/airun-bench classify
.build/release/airun-bench prompt-check
