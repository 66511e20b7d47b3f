#!/usr/bin/env bash
# Redaction and classification of a 64 KiB output tail, the work airun does per record and per
# failure, against a plain bytes round trip of the same tail measured in the same run.
# Target (issue 6): redacting a 64 KiB tail takes well under a millisecond.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product airun-bench >/dev/null 2>&1
.build/release/airun-bench redaction
.build/release/airun-bench classify
