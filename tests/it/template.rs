//! The SAM template's promises, read from `template.yaml`. To a first-time deployer: a first
//! deploy writes nothing and opens no public endpoint, every parameter says what it is and how
//! to fix a bad value, the guided deploy groups them, secret ARNs carry their suffix, and
//! deploys are gradual and reversible through an alias every trigger calls. On day two: the
//! webhook has both permissions AWS asks for, rollbacks watch the new version only, nothing
//! waits in the attention queue unseen, retries end before the queues forget, parameters that
//! need each other are refused apart, and a removed stack can be created again.

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
        "Alarms: [!Ref RollbackErrorsAlarm, !Ref RollbackRejectionsAlarm, !Ref RollbackTransientAlarm]"
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

/// The value of `key: ` in a resource block (the first such line).
fn property<'a>(block: &'a str, key: &str) -> &'a str {
    block
        .lines()
        .find_map(|l| l.trim().strip_prefix(&format!("{key}: ")))
        .unwrap_or_else(|| panic!("no {key} in\n{block}"))
}

fn number(text: &str) -> u64 {
    text.trim_matches('"')
        .parse()
        .unwrap_or_else(|_| panic!("{text:?} is not a number"))
}

#[test]
fn the_public_function_url_has_both_permissions_aws_asks_for() {
    // Since October 2025 a public Function URL needs lambda:InvokeFunctionUrl and
    // lambda:InvokeFunction (only via the URL); with the first alone every request gets 403.
    let url = resource("WebhookFunctionUrl");
    assert!(url.contains("TargetFunctionArn: !Ref WrapUpFunction.Alias"));
    assert!(url.contains("AuthType: NONE"));
    let url_permission = resource("WebhookFunctionUrlPermission");
    let invoke_permission = resource("WebhookFunctionUrlInvokePermission");
    for (block, lines) in [
        (
            &url_permission,
            &[
                "Action: lambda:InvokeFunctionUrl",
                "FunctionUrlAuthType: NONE",
            ],
        ),
        (
            &invoke_permission,
            &[
                "Action: lambda:InvokeFunction",
                "InvokedViaFunctionUrl: true",
            ],
        ),
    ] {
        for line in lines.iter().chain(&[
            "Condition: HasWebhook",
            "FunctionName: !Ref WrapUpFunction.Alias",
            "Principal: \"*\"",
        ]) {
            assert!(block.contains(line), "{line} missing in\n{block}");
        }
    }
}

#[test]
fn rollback_alarms_watch_the_version_being_deployed_only() {
    let function = resource("WrapUpFunction");
    let alarms = property(&function, "Alarms");
    assert_eq!(
        alarms,
        "[!Ref RollbackErrorsAlarm, !Ref RollbackRejectionsAlarm, !Ref RollbackTransientAlarm]"
    );
    let version = "Value: !GetAtt WrapUpFunction.Version.Version";
    // Lambda's own metrics: through the alias, by the version that ran (SAM's gradual-deploy
    // example); the function's own: by the ExecutedVersion dimension it adds.
    let errors = resource("RollbackErrorsAlarm");
    for line in [
        "Namespace: AWS/Lambda",
        "MetricName: Errors",
        "- Name: FunctionName",
        "- Name: Resource",
        "Value: !Sub \"${WrapUpFunction}:live\"",
        "- Name: ExecutedVersion",
        version,
    ] {
        assert!(errors.contains(line), "RollbackErrorsAlarm lacks {line}");
    }
    for (alarm, metric) in [
        ("RollbackRejectionsAlarm", "Rejected"),
        ("RollbackTransientAlarm", "TransientFailures"),
    ] {
        let block = resource(alarm);
        assert!(block.contains("Namespace: GenesysWrapUp"), "{alarm}");
        assert!(block.contains(&format!("MetricName: {metric}")), "{alarm}");
        assert!(block.contains("- Name: ExecutedVersion"), "{alarm}");
        assert!(block.contains(version), "{alarm}");
    }
    // They roll back; the paging alarms, on the whole function, stay as they were.
    for alarm in [
        "RollbackErrorsAlarm",
        "RollbackRejectionsAlarm",
        "RollbackTransientAlarm",
    ] {
        assert!(
            !resource(alarm).contains("AlarmActions"),
            "{alarm} pages no one"
        );
        assert!(
            !resource(alarm).contains("Condition:"),
            "{alarm} exists in both modes"
        );
    }
    assert!(!resource("ErrorsAlarm").contains("ExecutedVersion"));
}

/// Lambda's attempts of one asynchronous event, in seconds after the first: retries about 1
/// and then 2 minutes apart (README, "Retries").
const ASYNC_ATTEMPTS: [u64; 3] = [0, 60, 180];

#[test]
fn failures_cannot_sit_unseen_in_either_mode() {
    // The attention queue: its depth and its oldest message, in both modes.
    let retention = number(property(
        &resource("AttentionQueue"),
        "MessageRetentionPeriod",
    ));
    for (alarm, metric) in [
        (
            "AttentionQueueDepthAlarm",
            "ApproximateNumberOfMessagesVisible",
        ),
        ("AttentionQueueAgeAlarm", "ApproximateAgeOfOldestMessage"),
    ] {
        let block = resource(alarm);
        assert!(
            !block.contains("Condition:"),
            "{alarm} exists in both modes"
        );
        assert!(block.contains("Namespace: AWS/SQS"), "{alarm}");
        assert!(block.contains(&format!("MetricName: {metric}")), "{alarm}");
        assert!(
            block.contains("Value: !GetAtt AttentionQueue.QueueName"),
            "{alarm}"
        );
        assert!(
            block.contains(
                "AlarmActions: !If [HasAlarmTopic, [!Ref AlarmTopicArn], !Ref AWS::NoValue]"
            ),
            "{alarm} pages"
        );
    }
    assert_eq!(
        property(&resource("AttentionQueueDepthAlarm"), "Threshold"),
        "1"
    );
    let age = number(property(&resource("AttentionQueueAgeAlarm"), "Threshold"));
    assert!(
        age * 7 <= retention,
        "a forgotten message is noticed long before the queue deletes it ({age} s of {retention} s)"
    );

    // Direct mode: one event failing every attempt breaches enough one-minute periods of one
    // evaluation window, for every allowed MaximumRetryAttempts.
    let params = parameters();
    let retries = &params["MaximumRetryAttempts"];
    assert_eq!(
        (retries["MinValue"].as_str(), retries["MaxValue"].as_str()),
        ("0", "2")
    );
    for alarm in ["ErrorsAlarm", "TransientFailuresAlarm"] {
        let block = resource(alarm);
        assert!(
            property(&block, "Period").starts_with("!If [IsDirect, 60, "),
            "{alarm}: one-minute periods in direct mode"
        );
        let periods = property(&block, "EvaluationPeriods");
        let window: u64 = periods
            .strip_prefix("!If [IsDirect, ")
            .and_then(|p| p.split(',').next())
            .map(number)
            .unwrap_or_else(|| panic!("{alarm}: {periods}"));
        assert_eq!(
            property(&block, "DatapointsToAlarm")
                .split_once("]], ")
                .map(|(direct, _)| direct),
            Some("!If [IsDirect, !If [NoAsyncRetry, 1, !If [OneAsyncRetry, 2, 3"),
            "{alarm}: as many breaching minutes as attempts"
        );
        for (retry_attempts, datapoints) in [(0usize, 1u64), (1, 2), (2, 3)] {
            let attempts = &ASYNC_ATTEMPTS[..=retry_attempts];
            // Each attempt errs in its own minute; all of them fall in one window.
            assert_eq!(attempts.len() as u64, datapoints);
            assert!(
                attempts.last().copied().unwrap_or(0) / 60 < window,
                "{alarm}: {retry_attempts} retries span more than {window} minutes"
            );
        }
    }
    assert!(TEMPLATE.contains("  NoAsyncRetry: !Equals [!Ref MaximumRetryAttempts, \"0\"]\n"));
    assert!(TEMPLATE.contains("  OneAsyncRetry: !Equals [!Ref MaximumRetryAttempts, \"1\"]\n"));
}

#[test]
fn buffered_retries_end_before_either_queue_forgets_a_message() {
    let params = parameters();
    let max = |name: &str| number(&params[name]["MaxValue"]);
    let (receives, backoff) = (max("MaxReceiveCount"), max("MaxBackoffSeconds"));
    let function = resource("WrapUpFunction");
    let timeout = number(property(&function, "Timeout"));
    let buffer = resource("BufferQueue");
    let visibility = number(property(&buffer, "VisibilityTimeout"));
    let buffer_retention = number(property(&buffer, "MessageRetentionPeriod"));
    let attention_retention = number(property(
        &resource("AttentionQueue"),
        "MessageRetentionPeriod",
    ));
    // The longest retry horizon the parameters allow: every receive waits at most the longer of
    // the backoff cap and the queue's visibility timeout (a crash), plus one invocation.
    let horizon = receives * (backoff.max(visibility) + timeout);
    assert!(
        horizon < buffer_retention,
        "retries ({horizon} s) outlast the buffer queue ({buffer_retention} s)"
    );
    // SQS keeps a moved message only until the attention queue's retention, counted from when
    // it was first sent: a person still has a week after the last receive.
    assert!(
        attention_retention.saturating_sub(horizon) >= 7 * 86_400,
        "a message moved after {horizon} s leaves too little time in the attention queue"
    );
    for name in ["MaxReceiveCount", "MaxBackoffSeconds"] {
        assert!(
            params[name]
                .get("ConstraintDescription")
                .is_some_and(|d| d.contains("lose messages") || d.contains("keep")),
            "{name} says why it is bounded"
        );
    }
}

/// Each rule of the template's `Rules` section: its name and its lines.
fn rules() -> BTreeMap<String, String> {
    let section = TEMPLATE
        .split_once("\nRules:\n")
        .and_then(|(_, rest)| rest.split("\n\n").next())
        .expect("a Rules section");
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    let mut current = String::new();
    for line in section.lines() {
        if line.starts_with("  ") && !line.starts_with("   ") {
            current = line.trim().trim_end_matches(':').to_owned();
        } else {
            let text = out.entry(current.clone()).or_default();
            text.push_str(line.trim());
            text.push(' ');
        }
    }
    out
}

#[test]
fn parameters_that_need_each_other_are_refused_apart_with_the_fix() {
    let rules = rules();
    for (rule, when, needs) in [
        ("WebhookNeedsItsSecret", "Webhook", "WebhookSecretArn"),
        (
            "NewRelicAccountNeedsItsKey",
            "NewRelicAccountId",
            "NewRelicLicenseKeySecretArn",
        ),
        (
            "NewRelicKeyNeedsItsAccount",
            "NewRelicLicenseKeySecretArn",
            "NewRelicAccountId",
        ),
        (
            "OrgSecretsNeedTheirArns",
            "GenesysOrgSecrets",
            "AdditionalGenesysSecretArns",
        ),
        ("CaBundleFileNeedsSystemRoots", "CaBundleFile", "TlsRoots"),
    ] {
        let text = rules.get(rule).unwrap_or_else(|| panic!("no rule {rule}"));
        let (condition, assertion) = text
            .split_once("Assertions:")
            .unwrap_or_else(|| panic!("{rule}: {text}"));
        assert!(
            condition.starts_with("RuleCondition:") && condition.contains(&format!("!Ref {when}")),
            "{rule} applies when {when} is set: {condition}"
        );
        let (assert, description) = assertion
            .split_once("AssertDescription:")
            .unwrap_or_else(|| panic!("{rule} has no AssertDescription"));
        assert!(
            assert.contains(&format!("!Ref {needs}")),
            "{rule} asserts {needs}"
        );
        // A person reads it: both names, what goes wrong, and what to do.
        for word in [when, needs, "without it", "Set "] {
            assert!(
                description.contains(word),
                "{rule}'s description lacks {word:?}: {description}"
            );
        }
    }
}

#[test]
fn a_removed_stack_can_be_created_again_under_the_same_name() {
    // Every resource kept on delete either has no name of its own (CloudFormation makes one up)
    // or a name carrying the stack's id, which a new stack of the same name does not share.
    let resources = TEMPLATE
        .split_once("\nResources:\n")
        .and_then(|(_, rest)| rest.split_once("\nOutputs:\n"))
        .map(|(resources, _)| resources)
        .expect("a Resources section");
    let mut kept = Vec::new();
    for line in resources.lines() {
        let is_resource = line.starts_with("  ")
            && !line.starts_with("   ")
            && !line.trim_start().starts_with('#')
            && line.trim_end().ends_with(':');
        if !is_resource {
            continue;
        }
        let name = line.trim().trim_end_matches(':');
        let block = resource(name);
        if !block.contains("    DeletionPolicy: Retain") {
            continue;
        }
        kept.push(name.to_owned());
        for key in ["LogGroupName", "QueueName", "TableName"] {
            if let Some(value) = block
                .lines()
                .find_map(|l| l.trim().strip_prefix(&format!("{key}: ")))
            {
                assert!(
                    value.contains("AWS::StackId"),
                    "{name} keeps a fixed {key} when deleted: {value}"
                );
            }
        }
    }
    kept.sort();
    assert_eq!(
        kept,
        [
            "AttentionQueue",
            "BufferQueue",
            "LockTable",
            "WrapUpLogGroup"
        ],
        "what the docs' \"Removing\" section lists"
    );
    assert!(property(&resource("WrapUpLogGroup"), "LogGroupName").contains("AWS::StackId"));
}
