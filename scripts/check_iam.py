"""Least privilege on the SAM-translated template, and the resource policy a public Function URL
needs.

SAM's policy templates and managed roles use `*` resources that a grep of template.yaml never
sees, so this translates the template the way CloudFormation will, then checks every IAM
statement of every role and policy: no `*` (or `arn:...:*` wildcard) resource for Secrets
Manager, SQS, KMS, DynamoDB or CloudWatch Logs actions, no AWS managed policies, and DynamoDB
only for the operations the function uses, on the stack's own lease table.

A Function URL with `AuthType: NONE` needs two statements in the function's resource policy
(since October 2025): `lambda:InvokeFunctionUrl` with `FunctionUrlAuthType: NONE`, and
`lambda:InvokeFunction` with `InvokedViaFunctionUrl: true`, on what the URL targets and under
the URL's condition. With only the first, Lambda answers 403 before the function runs.
"""

import json
import os
import sys

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

SERVICES = ("secretsmanager:", "sqs:", "kms:", "logs:", "dynamodb:")
# The lease's conditional writes (alone or in one TransactWriteItems, authorised per action),
# and what `doctor --function` reads about the table.
DYNAMODB_ACTIONS = {
    "dynamodb:PutItem",
    "dynamodb:DeleteItem",
    "dynamodb:UpdateItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:DescribeTable",
    "dynamodb:DescribeTimeToLive",
}
LOCK_TABLE = {"Fn::GetAtt": ["LockTable", "Arn"]}


class NoManagedPolicies:
    """Stands in for IAM lookups: the template must not need any."""

    def load(self):
        return {}


def as_list(value):
    return value if isinstance(value, list) else [value]


def is_wildcard(text):
    return text.strip() == "*" or (text.startswith("arn:") and text.endswith(":*"))


def literal_wildcards(resource):
    """Resource strings, as far as they are literal, that grant more than named resources."""
    found = []
    if isinstance(resource, str):
        if is_wildcard(resource):
            found.append(resource)
    elif isinstance(resource, list):
        for r in resource:
            found += literal_wildcards(r)
    elif isinstance(resource, dict):
        for key, value in resource.items():
            if key == "Fn::If":
                found += literal_wildcards(value[1]) + literal_wildcards(value[2])
            elif key == "Fn::Sub":
                text, variables = (value, {}) if isinstance(value, str) else (value[0], value[1])
                for name, replacement in variables.items():
                    if isinstance(replacement, str):
                        text = text.replace("${" + name + "}", replacement)
                if is_wildcard(text):
                    found.append(text)
    return found


def statements(document):
    for statement in as_list(document.get("Statement", [])):
        if isinstance(statement, dict) and "Fn::If" in statement:
            yield from (s for s in statement["Fn::If"][1:] if isinstance(s, dict))
        else:
            yield statement


def policies_of(resource):
    props = resource.get("Properties", {})
    if resource["Type"] == "AWS::IAM::Role":
        for policy in as_list(props.get("Policies", [])):
            if isinstance(policy, dict) and "Fn::If" in policy:
                policy = policy["Fn::If"][1]
            if isinstance(policy, dict) and "PolicyDocument" in policy:
                yield policy.get("PolicyName", "?"), policy["PolicyDocument"]
    elif resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
        yield props.get("PolicyName", "?"), props.get("PolicyDocument", {})


def function_url_problems(resources):
    """Each public Function URL without both of the permissions it needs."""
    problems = []
    permissions = [
        (name, r.get("Condition"), r.get("Properties", {}))
        for name, r in resources.items()
        if r.get("Type") == "AWS::Lambda::Permission"
    ]
    for name, resource in resources.items():
        if resource.get("Type") != "AWS::Lambda::Url":
            continue
        props = resource.get("Properties", {})
        if props.get("AuthType") != "NONE":
            continue
        target, condition = props.get("TargetFunctionArn"), resource.get("Condition")

        def granted(action, extra):
            return any(
                p.get("Action") == action
                and p.get("FunctionName") == target
                and p.get("Principal") == "*"
                and c == condition
                and all(p.get(k) == v for k, v in extra.items())
                for _, c, p in permissions
            )

        if not granted("lambda:InvokeFunctionUrl", {"FunctionUrlAuthType": "NONE"}):
            problems.append(f"{name}: no lambda:InvokeFunctionUrl permission (FunctionUrlAuthType NONE) on its target")
        if not granted("lambda:InvokeFunction", {"InvokedViaFunctionUrl": True}):
            problems.append(
                f"{name}: no lambda:InvokeFunction permission with InvokedViaFunctionUrl: true on its target "
                "(Lambda answers 403 to every request without it)"
            )
    return problems


def main(path):
    # The translation needs a region for pseudo parameters; nothing is called.
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    with open(path) as f:
        template = yaml_parse(f.read())
    # `sam package` replaces local code paths with S3 locations before the transform runs.
    for resource in template["Resources"].values():
        if resource.get("Type") == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = "s3://example-bucket/genesys-wrapup.zip"
    translated = transform(template, {}, NoManagedPolicies())
    problems = []
    roles = 0
    for name, resource in translated["Resources"].items():
        if resource["Type"] == "AWS::IAM::Role":
            roles += 1
            managed = resource.get("Properties", {}).get("ManagedPolicyArns")
            if managed:
                problems.append(f"{name}: managed policies {json.dumps(managed)} grant unscoped access")
        for policy_name, document in policies_of(resource):
            for statement in statements(document):
                if statement.get("Effect") != "Allow":
                    continue
                actions = [a for a in as_list(statement.get("Action", [])) if isinstance(a, str)]
                scoped = [a for a in actions if a.lower().startswith(SERVICES) or a == "*"]
                if not scoped:
                    continue
                wild = literal_wildcards(statement.get("Resource"))
                if wild:
                    problems.append(f"{name}/{policy_name}: {scoped} on {wild}")
                dynamodb = [a for a in scoped if a.lower().startswith("dynamodb:") or a == "*"]
                unused = [a for a in dynamodb if a not in DYNAMODB_ACTIONS]
                if unused:
                    problems.append(f"{name}/{policy_name}: {unused} is more than the lease needs")
                if dynamodb and as_list(statement.get("Resource")) != [LOCK_TABLE]:
                    problems.append(
                        f"{name}/{policy_name}: {dynamodb} on {json.dumps(statement.get('Resource'))}, not only the lease table"
                    )
    if roles == 0:
        problems.append("no IAM role found in the translated template")
    for p in problems:
        print(f"least privilege: {p}", file=sys.stderr)
    url_problems = function_url_problems(translated["Resources"])
    for p in url_problems:
        print(f"function URL: {p}", file=sys.stderr)
    if problems or url_problems:
        sys.exit(1)
    urls = sum(1 for r in translated["Resources"].values() if r["Type"] == "AWS::Lambda::Url")
    print(f"least privilege: {roles} role(s) checked on the SAM-translated template, no wildcard resources")
    print(f"function URL: {urls} public URL(s), each with both permissions it needs")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "template.yaml")
