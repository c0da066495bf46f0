#!/usr/bin/env bash
# Checks the SAM template offline: cfn-lint, SAM's own validation with its linter, least
# privilege and the Function URL's permissions on the SAM-translated template (with self-tests
# that each check can fail).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/python-env.sh
# cfn-lint 1.51 and later know AWS::Lambda::Permission's InvokedViaFunctionUrl (an older
# resource spec would refuse the template's Function URL permission as an unknown property).
python_env 'cfn-lint>=1.51,<2' aws-sam-cli
cfn-lint template.yaml
SAM_CLI_TELEMETRY=0 sam validate --lint --region us-east-1
python scripts/check_iam.py template.yaml

# Self-test: a function with SAM's managed role and a policy template on "*" must fail.
bad=$(mktemp --suffix=.yaml)
trap 'rm -f "$bad"' EXIT
sed 's/      Role: !GetAtt WrapUpRole.Arn/      Policies:\n        - AWSSecretsManagerGetSecretValuePolicy:\n            SecretArn: "*"/' template.yaml >"$bad"
if python scripts/check_iam.py "$bad" 2>/dev/null; then
  echo "least-privilege check did not catch a wildcard policy" >&2
  exit 1
fi
# Self-test: a lease grant widened to a scan (or to every table) must fail too.
sed 's/                  - dynamodb:DeleteItem/                  - dynamodb:DeleteItem\n                  - dynamodb:Scan/' template.yaml >"$bad"
if python scripts/check_iam.py "$bad" 2>/dev/null; then
  echo "least-privilege check did not catch a DynamoDB action the lease does not use" >&2
  exit 1
fi
# Self-test: a public Function URL with only the InvokeFunctionUrl statement must fail.
sed 's/      InvokedViaFunctionUrl: true/      InvokedViaFunctionUrl: false/' template.yaml >"$bad"
if python scripts/check_iam.py "$bad" 2>/dev/null; then
  echo "function URL check did not catch a missing lambda:InvokeFunction permission" >&2
  exit 1
fi
