#!/usr/bin/env bash
# Lints the SAM template offline: cfn-lint, then SAM's own validation with its linter.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install --quiet --disable-pip-version-check 'cfn-lint>=1,<2' aws-sam-cli
cfn-lint template.yaml
SAM_CLI_TELEMETRY=0 sam validate --lint --region us-east-1
