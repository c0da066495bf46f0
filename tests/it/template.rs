//! The SAM template's promises to a first-time deployer, read from `template.yaml`: a first
//! deploy writes nothing and opens no public endpoint, every parameter says what it is and how
//! to fix a bad value, the guided deploy groups them, secret ARNs carry their suffix, and
//! deploys are gradual and reversible through an alias every trigger calls.

use std::collections::BTreeMap;

const TEMPLATE: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/template.yaml"));

/// Each parameter's properties (`Default`, `Description`, ...), as written.
fn parameters() -> BTreeMap<String, BTreeMap<String, String>> {
    let section = TEMPLATE
        .split_once("\nParameters:\n")
        .and_then(|(_, rest)| rest.split("\n\n").next())
        .expect("a Parameters section");
    let mut out: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut current = String::new();
    let mut key = String::new();
    for line in section.lines() {
        let indent = line.len() - line.trim_start().len();
        match indent {
            2 => {
                current = line.trim().trim_end_matches(':').to_owned();
                out.entry(current.clone()).or_default();
            }
            4 => {
                let (k, v) = line.trim().split_once(':').unwrap_or((line.trim(), ""));
                key = k.to_owned();
                out.get_mut(&current)
                    .unwrap()
                    .insert(key.clone(), v.trim().to_owned());
            }
            _ => {
                // A folded value (`>`) or a list continues the last property.
                let value = out.get_mut(&current).unwrap().get_mut(&key).unwrap();
                value.push(' ');
                value.push_str(line.trim());
            }
        }
    }
    out
}

/// The resource block named `name`: its line and the deeper-indented lines after it.
fn resource(name: &str) -> String {
    let mut lines = TEMPLATE.lines().skip_while(|l| *l != format!("  {name}:"));
    let first = lines.next().unwrap_or_else(|| panic!("no resource {name}"));
    let body: Vec<&str> = lines
        .take_while(|l| {
            l.trim().is_empty() || l.starts_with("   ") || l.trim_start().starts_with('#')
        })
        .collect();
    format!("{first}\n{}\n", body.join("\n"))
}

#[test]
fn a_first_deploy_writes_nothing_and_opens_no_public_endpoint() {
    let params = parameters();
    assert_eq!(params["DryRun"]["Default"], "\"true\"");
    assert_eq!(params["Webhook"]["Default"], "disabled");
    for endpoint in [
        "WebhookFunctionUrl",
        "WebhookFunctionUrlPermission",
        "WebhookHttpApi",
        "WebhookHttpApiPermission",
    ] {
        assert!(
            resource(endpoint).contains("    Condition: HasWebhook\n"),
            "{endpoint} exists only with Webhook=enabled"
        );
    }
    let function = resource("WrapUpFunction");
    assert!(!function.contains("FunctionUrlConfig") && !function.contains("Type: HttpApi"));
}

#[test]
fn every_parameter_says_what_it_is_and_how_to_fix_a_bad_value() {
    let params = parameters();
    assert!(params.len() > 25, "{}", params.len());
    for (name, props) in &params {
        assert!(
            props.get("Description").is_some_and(|d| d.len() > 20),
            "{name} has no description"
        );
        if props.contains_key("AllowedPattern") {
            assert!(
                props.contains_key("ConstraintDescription"),
                "{name} has a pattern but no ConstraintDescription"
            );
        }
    }
    // The guided deploy asks them in groups, each exactly once.
    let groups = TEMPLATE
        .split_once("ParameterGroups:\n")
        .and_then(|(_, rest)| rest.split("\nParameters:\n").next())
        .unwrap();
    let mut grouped: Vec<String> = groups
        .lines()
        .filter_map(|l| l.trim().strip_prefix("Parameters: ["))
        .flat_map(|l| {
            l.trim_end_matches(']')
                .split(',')
                .map(|p| p.trim().to_owned())
                .collect::<Vec<_>>()
        })
        .collect();
    grouped.sort();
    let all: Vec<String> = params.keys().cloned().collect();
    assert_eq!(grouped, all);
}

#[test]
fn secret_arns_must_carry_their_suffix() {
    let params = parameters();
    for name in [
        "GenesysSecretArn",
        "WebhookSecretArn",
        "NewRelicLicenseKeySecretArn",
    ] {
        assert!(
            params[name]["AllowedPattern"].contains("-[A-Za-z0-9]{6}$"),
            "{name}"
        );
    }
}

#[test]
fn deploys_are_gradual_and_every_trigger_calls_the_alias() {
    let function = resource("WrapUpFunction");
    assert!(function.contains("AutoPublishAlias: live"));
    assert!(function.contains("Type: !Ref DeploymentType"));
    assert!(function.contains(
        "Alarms: [!Ref ErrorsAlarm, !Ref RollbackRejectionsAlarm, !Ref RollbackTransientAlarm]"
    ));
    assert!(
        function.contains("ReservedConcurrentExecutions: !If [IsDirect, !Ref MaximumConcurrency"),
        "direct mode has a cap"
    );
    for rule in [
        "DirectRule",
        "BufferedRule",
        "GenesysEventDirectRule",
        "GenesysEventBufferedRule",
    ] {
        let block = resource(rule);
        if block.contains("Id: wrapup-function") {
            assert!(block.contains("Arn: !Ref WrapUpFunction.Alias"), "{rule}");
        }
    }
    assert!(resource("BufferEventSource").contains("FunctionName: !Ref WrapUpFunction.Alias"));
    for permission in ["DirectRulePermission", "GenesysEventDirectRulePermission"] {
        assert!(
            resource(permission).contains("FunctionName: !Ref WrapUpFunction.Alias"),
            "{permission}"
        );
    }
    for output in ["FunctionName:", "FunctionAlias:"] {
        assert!(
            TEMPLATE
                .split_once("\nOutputs:\n")
                .unwrap()
                .1
                .contains(output),
            "{output}"
        );
    }
}

#[test]
fn the_lease_table_is_created_kept_and_given_to_the_function() {
    let table = resource("LockTable");
    for line in [
        "Type: AWS::DynamoDB::Table",
        "DeletionPolicy: Retain",
        "UpdateReplacePolicy: Retain",
        "BillingMode: PAY_PER_REQUEST",
        "AttributeName: pk",
        "AttributeType: S",
        "KeyType: HASH",
        "AttributeName: expiresAt",
        "Enabled: true",
        "KMSMasterKeyId: !Ref KmsKeyArn",
    ] {
        assert!(table.contains(line), "LockTable lacks {line:?}:\n{table}");
    }
    let function = resource("WrapUpFunction");
    assert!(function.contains("WRAPUP_LOCK_TABLE: !Ref LockTable"));
    assert!(function.contains("WRAPUP_IDEMPOTENCY_TTL: !Ref IdempotencyTtl"));
    let role = resource("WrapUpRole");
    // The transaction's parts, each its own action: no read, no scan, this table only.
    assert!(role.contains("- dynamodb:PutItem\n                  - dynamodb:DeleteItem\n                  - dynamodb:UpdateItem\n                  - dynamodb:ConditionCheckItem\n                Resource: !GetAtt LockTable.Arn"));
    assert!(
        role.contains("dynamodb.${AWS::Region}.amazonaws.com"),
        "the key serves DynamoDB"
    );
}
