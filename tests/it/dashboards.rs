//! The dashboards in `template.yaml` (CloudWatch) and `dashboards/` (New Relic) name only
//! metrics, dimensions and attributes the function really emits.
//!
//! What the function emits is observed, not listed: the EMF lines come from the binary's stderr
//! (`invoke --sandbox` on samples that apply and skip), the New Relic attributes from the
//! events the handler posts to the New Relic emulator across every kind of outcome.
//!
//! The CloudWatch body is JSON text in YAML block scalars (`!Sub |`) joined by `!Join`, the
//! buffer-queue widget under `!If [UseBufferQueue, ...]`. Without a YAML crate, the test reads
//! those blocks by indentation, puts them together for both values of the condition, replaces
//! each `${...}` with its name, parses the result with serde_json and walks the widgets. New
//! Relic queries write every attribute in backticks, so their names are found without parsing
//! NRQL.

use crate::common::*;
use genesys_wrapup::sandbox::demo::*;
use genesys_wrapup::sandbox::emulator::{FaultKind, Route};
use genesys_wrapup::sandbox::newrelic::NewRelicEmulator;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

const TEMPLATE: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/template.yaml"));
const NEW_RELIC: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/dashboards/newrelic-genesys-wrapup.json"
));
const METRICS_NAMESPACE: &str = "GenesysWrapUp";
const EVENT_TYPE: &str = "GenesysWrapUp";

/// The `${...}` the body may use; each becomes its own name in the rendered JSON.
const REFERENCES: [&str; 4] = [
    "AWS::Region",
    "WrapUpFunction",
    "AttentionQueue.QueueName",
    "BufferQueue.QueueName",
];
const LAMBDA_METRICS: [&str; 4] = [
    "Errors",
    "Throttles",
    "AsyncEventsDropped",
    "DestinationDeliveryFailures",
];
const SQS_METRICS: [&str; 2] = [
    "ApproximateNumberOfMessagesVisible",
    "ApproximateAgeOfOldestMessage",
];

// ---------------------------------------------------------------------------------------------
// What the function emits

/// Each EMF metric's dimension sets (each a set of names), from the EMF lines the binary writes
/// on stderr for an applied and a skipped sample (a skip adds the `Outcomes` by `Reason` line),
/// run as Lambda runs it: with a function name and the version that runs.
fn emitted_metrics() -> &'static BTreeMap<String, BTreeSet<BTreeSet<String>>> {
    static EMITTED: OnceLock<BTreeMap<String, BTreeSet<BTreeSet<String>>>> = OnceLock::new();
    EMITTED.get_or_init(|| {
        let mut sets = BTreeMap::new();
        // An `observe` rule, for the prediction metrics.
        let observe = std::env::temp_dir().join(format!("observe-{}.json", std::process::id()));
        std::fs::write(
            &observe,
            r#"[{"name": "observe", "match": {"topic": "acw"}, "observe": true}]"#,
        )
        .unwrap();
        for (sample, rules) in [
            ("events/eventbridge-custom.json", None),
            ("events/genesys-customer-end-skipped.json", None),
            ("events/genesys-acw.json", Some(&observe)),
        ] {
            let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_genesys-wrapup"));
            command
                .args(["invoke", "--sandbox", sample])
                .env_clear()
                .env("AWS_LAMBDA_FUNCTION_NAME", "fn")
                .env("AWS_LAMBDA_FUNCTION_VERSION", "7")
                .current_dir(env!("CARGO_MANIFEST_DIR"));
            if let Some(rules) = rules {
                command.env("WRAPUP_RULES_FILE", rules);
            }
            let out = command.output().expect("the binary runs");
            assert!(out.status.success(), "{sample}: {out:?}");
            let stderr = String::from_utf8(out.stderr).unwrap();
            for line in stderr.lines().filter(|l| l.contains("\"_aws\"")) {
                let doc: Value = serde_json::from_str(line).unwrap();
                let directive = &doc["_aws"]["CloudWatchMetrics"][0];
                assert_eq!(directive["Namespace"], METRICS_NAMESPACE, "{line}");
                let dims: BTreeSet<BTreeSet<String>> = directive["Dimensions"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|set| {
                        set.as_array()
                            .unwrap()
                            .iter()
                            .map(|d| d.as_str().unwrap().to_owned())
                            .inspect(|d| assert!(doc[d].is_string(), "{d} has no value: {line}"))
                            .collect()
                    })
                    .collect();
                for m in directive["Metrics"].as_array().unwrap() {
                    let name = m["Name"].as_str().unwrap().to_owned();
                    assert!(doc[&name].is_number(), "{name} has no value: {line}");
                    sets.insert(name, dims.clone());
                }
            }
        }
        sets
    })
}

/// What `GenesysWrapUp` events carry: every attribute name, and the values `status` and
/// `dryRun` take, across every kind of outcome, a transient failure and a dry run.
struct Events {
    attributes: BTreeSet<String>,
    statuses: BTreeSet<String>,
    dry_run: BTreeSet<String>,
    /// What `WrapUpPrediction` events (an `observe` rule's) carry.
    predictions: BTreeSet<String>,
}

/// The event type `WrapUpPrediction` (what `observe` rules record).
const PREDICTION_EVENT_TYPE: &str = "WrapUpPrediction";

async fn emitted_events() -> Events {
    let mut seen = Vec::new();
    for dry in ["false", "true"] {
        let nr = NewRelicEmulator::start("1", "nr-key").await.unwrap();
        let url = nr.url().to_string();
        let h = Harness::with_env(&[
            ("NEW_RELIC_ACCOUNT_ID", "1"),
            ("NEW_RELIC_LICENSE_KEY", "nr-key"),
            ("NEW_RELIC_EVENTS_URL", &url),
            ("WRAPUP_DRY_RUN", dry),
        ])
        .await;
        let genesys_event = |file: &str| -> Value {
            let text =
                std::fs::read_to_string(format!("{}/events/{file}", env!("CARGO_MANIFEST_DIR")))
                    .unwrap();
            serde_json::from_str(&text).unwrap()
        };
        let requests = [
            eventbridge(apply_request(CONV_CALL, CODE_SALE)),
            eventbridge(apply_request(CONV_WRAPPED, CODE_SALE)),
            eventbridge(apply_request(CONV_CALL, CODE_SUPPORT)),
            eventbridge(apply_request(CONV_ACTIVE, CODE_SALE)),
            genesys_event("genesys-acw.json"),
            genesys_event("genesys-customer-end-skipped.json"),
        ];
        for event in requests {
            let _ = h.invoke(event).await;
        }
        h.emulator().inject(
            Route::GetConversation,
            FaultKind::Status {
                status: 503,
                code: "service.unavailable".into(),
                message: "injected".into(),
                retry_after: Some(120),
            },
            2,
        );
        let _ = h
            .invoke(eventbridge(apply_request(CONV_MESSAGE, CODE_SALE)))
            .await;
        seen.extend(nr.events());
    }
    // An `observe` rule on the samples' `acw` events: its `WrapUpPrediction` events.
    let nr = NewRelicEmulator::start("1", "nr-key").await.unwrap();
    let url = nr.url().to_string();
    let h = Harness::with_env(&[
        ("NEW_RELIC_ACCOUNT_ID", "1"),
        ("NEW_RELIC_LICENSE_KEY", "nr-key"),
        ("NEW_RELIC_EVENTS_URL", &url),
        (
            "WRAPUP_RULES",
            r#"[{"name": "observe", "match": {"topic": "acw"}, "observe": true}]"#,
        ),
    ])
    .await;
    for file in ["genesys-acw.json", "genesys-acw-timeout-predicted.json"] {
        let text = std::fs::read_to_string(format!("{}/events/{file}", env!("CARGO_MANIFEST_DIR")))
            .unwrap();
        h.invoke(serde_json::from_str(&text).unwrap())
            .await
            .unwrap();
    }
    seen.extend(nr.events());
    let mut events = Events {
        attributes: BTreeSet::new(),
        statuses: BTreeSet::new(),
        dry_run: BTreeSet::new(),
        predictions: BTreeSet::new(),
    };
    for e in &seen {
        let e = e.as_object().unwrap();
        if e["eventType"] == PREDICTION_EVENT_TYPE {
            events.predictions.extend(e.keys().cloned());
            continue;
        }
        events.attributes.extend(e.keys().cloned());
        events
            .statuses
            .insert(e["status"].as_str().unwrap().to_owned());
        events.dry_run.insert(e["dryRun"].to_string());
    }
    events
}

// ---------------------------------------------------------------------------------------------
// CloudWatch: the template's DashboardBody

/// One YAML block scalar of the body, and the condition guarding it, if any.
#[derive(Debug)]
struct Block {
    condition: Option<String>,
    text: String,
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

/// The block scalars of `WrapUpDashboard`'s `DashboardBody`, in order. Every other line of the
/// body must be `!Join`'s structure, so no JSON can hide in a plain scalar.
fn body_blocks(template: &str) -> Result<Vec<Block>, String> {
    let lines: Vec<&str> = template.lines().collect();
    let start = lines
        .iter()
        .position(|l| *l == "  WrapUpDashboard:")
        .ok_or("no WrapUpDashboard resource")?;
    let end = lines[start + 1..]
        .iter()
        .position(|l| !l.trim().is_empty() && indent(l) <= 2)
        .map_or(lines.len(), |p| start + 1 + p);
    let body = (start..end)
        .find(|&i| lines[i].trim_start().starts_with("DashboardBody:"))
        .ok_or("WrapUpDashboard has no DashboardBody")?;
    if lines[body].trim() != "DashboardBody: !Join" {
        return Err(format!("DashboardBody is not a !Join: {:?}", lines[body]));
    }
    let body_indent = indent(lines[body]);
    let mut blocks = Vec::new();
    let mut i = body + 1;
    while i < end && (lines[i].trim().is_empty() || indent(lines[i]) > body_indent) {
        let line = lines[i];
        let trimmed = line.trim();
        if ["- - !Sub |", "- !Sub |", "- |"].contains(&trimmed) {
            let at = i;
            // As YAML reads it: the first content line sets the indentation, and the first
            // line indented less ends the scalar.
            let strip = lines[i + 1..end]
                .iter()
                .find(|l| !l.trim().is_empty())
                .map(|l| indent(l))
                .filter(|&n| n > indent(line))
                .ok_or_else(|| format!("empty block scalar after {line:?}"))?;
            let mut content = Vec::new();
            i += 1;
            while i < end && (lines[i].trim().is_empty() || indent(lines[i]) >= strip) {
                content.push(lines[i]);
                i += 1;
            }
            let text: String = content
                .iter()
                .map(|l| format!("{}\n", l.get(strip..).unwrap_or("")))
                .collect();
            // `- !If` then `- <Condition>` right above a block: it exists only under that condition.
            let above = |n: usize| line_above(&lines, at, n);
            let condition = (above(2) == Some("- !If"))
                .then(|| {
                    above(1)
                        .and_then(|c| c.strip_prefix("- "))
                        .map(str::to_owned)
                })
                .flatten();
            blocks.push(Block { condition, text });
            continue;
        }
        let structural = ["- \"\"", "- - \"\"", "- !If", "- UseBufferQueue"];
        if !structural.contains(&trimmed) {
            return Err(format!("unexpected line in DashboardBody: {line:?}"));
        }
        i += 1;
    }
    Ok(blocks)
}

/// The line `n` lines above `at`, trimmed.
fn line_above<'a>(lines: &[&'a str], at: usize, n: usize) -> Option<&'a str> {
    at.checked_sub(n).map(|i| lines[i].trim())
}

/// The body as CloudFormation would render it, `${X}` standing as `X`.
fn render(blocks: &[Block], use_buffer_queue: bool) -> Result<String, String> {
    let mut text = String::new();
    for block in blocks {
        match block.condition.as_deref() {
            None => text.push_str(&block.text),
            Some("UseBufferQueue") if use_buffer_queue => text.push_str(&block.text),
            Some("UseBufferQueue") => {}
            Some(other) => return Err(format!("a block under an unknown condition {other}")),
        }
    }
    let mut out = String::new();
    let mut rest = text.as_str();
    while let Some(at) = rest.find("${") {
        out.push_str(&rest[..at]);
        let close = rest[at..].find('}').ok_or("an unclosed ${")? + at;
        let name = &rest[at + 2..close];
        if !REFERENCES.contains(&name) {
            return Err(format!("unexpected reference ${{{name}}}"));
        }
        out.push_str(name);
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The dashboard for one value of `UseBufferQueue`, parsed.
fn dashboard(template: &str, use_buffer_queue: bool) -> Result<Value, String> {
    let text = render(&body_blocks(template)?, use_buffer_queue)?;
    serde_json::from_str(&text).map_err(|e| format!("not JSON ({e}):\n{text}"))
}

/// One metric a widget shows: a plain metric entry or a SEARCH expression.
#[derive(Debug, Clone, PartialEq)]
struct Shown {
    widget: String,
    namespace: String,
    metric: String,
    dimensions: Vec<(String, String)>,
    stat: String,
    period: u64,
    search: bool,
}

/// Every metric the dashboard shows, and the problems found on the way.
fn shown(dashboard: &Value) -> (Vec<Shown>, Vec<String>) {
    let mut found = Vec::new();
    let mut problems = Vec::new();
    let Some(widgets) = dashboard["widgets"].as_array() else {
        return (found, vec!["no widgets".into()]);
    };
    for widget in widgets {
        let props = &widget["properties"];
        let title = props["title"].as_str().unwrap_or("").to_owned();
        if widget["type"] != "metric" {
            problems.push(format!("{title}: not a metric widget"));
            continue;
        }
        if props["region"] != "AWS::Region" {
            problems.push(format!("{title}: region is not ${{AWS::Region}}"));
        }
        let Some(period) = props["period"].as_u64() else {
            problems.push(format!("{title}: no period"));
            continue;
        };
        let Some(metrics) = props["metrics"].as_array() else {
            problems.push(format!("{title}: no metrics"));
            continue;
        };
        for entry in metrics {
            match metric_entry(entry, props, period) {
                Ok(mut s) => {
                    s.widget = title.clone();
                    found.push(s);
                }
                Err(e) => problems.push(format!("{title}: {e}")),
            }
        }
    }
    (found, problems)
}

/// `["Namespace", "Metric", "Dim", "value", ..., {options}]` or `[{"expression": "SEARCH(...)"}]`.
fn metric_entry(entry: &Value, props: &Value, period: u64) -> Result<Shown, String> {
    let items = entry
        .as_array()
        .ok_or("a metric entry that is not an array")?;
    let (options, names) = match items.last() {
        Some(Value::Object(o)) => (Some(o), &items[..items.len() - 1]),
        _ => (None, &items[..]),
    };
    if names.is_empty() {
        let expression = options
            .and_then(|o| o.get("expression"))
            .and_then(Value::as_str)
            .ok_or("an entry with neither a metric nor an expression")?;
        return search(expression);
    }
    let names: Vec<&str> = names
        .iter()
        .map(|n| n.as_str().ok_or(format!("a non-string in {entry}")))
        .collect::<Result<_, _>>()?;
    if names.len() < 2 || !names.len().is_multiple_of(2) {
        return Err(format!(
            "not namespace, metric and name/value pairs: {entry}"
        ));
    }
    if names.contains(&".") {
        return Err(format!("\".\" shorthand (write entries in full): {entry}"));
    }
    let stat = options
        .and_then(|o| o.get("stat"))
        .or(props.get("stat"))
        .and_then(Value::as_str)
        .ok_or(format!("no stat for {entry}"))?;
    Ok(Shown {
        widget: String::new(),
        namespace: names[0].to_owned(),
        metric: names[1].to_owned(),
        dimensions: names[2..]
            .chunks(2)
            .map(|p| (p[0].to_owned(), p[1].to_owned()))
            .collect(),
        stat: stat.to_owned(),
        period: options
            .and_then(|o| o.get("period"))
            .and_then(Value::as_u64)
            .unwrap_or(period),
        search: false,
    })
}

/// `SEARCH('{Namespace,Dim,...} MetricName="M" Dim="v"', 'Stat', period)`.
fn search(expression: &str) -> Result<Shown, String> {
    let bad = || format!("not a SEARCH('{{...}} ...', 'stat', period): {expression}");
    let inner = expression
        .strip_prefix("SEARCH('")
        .and_then(|e| e.strip_suffix(')'))
        .ok_or_else(bad)?;
    let (query, rest) = inner.split_once("', '").ok_or_else(bad)?;
    let (stat, period) = rest.split_once("', ").ok_or_else(bad)?;
    let schema = query
        .strip_prefix('{')
        .and_then(|q| q.split_once('}'))
        .ok_or_else(bad)?;
    let mut schema_names = schema.0.split(',').map(str::trim);
    let namespace = schema_names.next().unwrap_or("").to_owned();
    let dimension_names: Vec<&str> = schema_names.collect();
    // The terms after the schema: Key="value" pairs only.
    let mut metric = None;
    let mut values = BTreeMap::new();
    for term in schema.1.split_whitespace() {
        let (key, value) = term
            .split_once('=')
            .and_then(|(k, v)| Some((k, v.strip_prefix('"')?.strip_suffix('"')?)))
            .ok_or_else(|| format!("a term that is not Key=\"value\": {term}"))?;
        if key == "MetricName" {
            metric = Some(value.to_owned());
        } else if dimension_names.contains(&key) {
            values.insert(key.to_owned(), value.to_owned());
        } else {
            return Err(format!("{key} is not in the SEARCH schema: {expression}"));
        }
    }
    Ok(Shown {
        widget: String::new(),
        namespace,
        metric: metric.ok_or(format!("a SEARCH without MetricName: {expression}"))?,
        dimensions: dimension_names
            .iter()
            .map(|d| (d.to_string(), values.get(*d).cloned().unwrap_or_default()))
            .collect(),
        stat: stat.to_owned(),
        period: period.trim().parse().map_err(|_| bad())?,
        search: true,
    })
}

/// What is wrong with one shown metric: a name the function does not emit, a dimension set
/// CloudWatch would find nothing under, a dimension value that is not this stack's resource.
fn metric_problems(
    s: &Shown,
    emitted: &BTreeMap<String, BTreeSet<BTreeSet<String>>>,
) -> Vec<String> {
    let mut problems = Vec::new();
    let what = format!("{}: {}/{}", s.widget, s.namespace, s.metric);
    let names: BTreeSet<String> = s.dimensions.iter().map(|(n, _)| n.clone()).collect();
    let value = |name: &str| {
        s.dimensions
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    let only = |name: &str| BTreeSet::from([name.to_owned()]);
    match s.namespace.as_str() {
        METRICS_NAMESPACE => {
            match emitted.get(&s.metric) {
                Some(sets) if !sets.contains(&names) => problems.push(format!(
                    "{what}: dimensions {names:?}, the function emits {sets:?}"
                )),
                None => problems.push(format!("{what}: not in the function's EMF lines")),
                Some(_) => {}
            }
            if value("FunctionName") != Some("WrapUpFunction") {
                problems.push(format!("{what}: FunctionName is not ${{WrapUpFunction}}"));
            }
        }
        "AWS/Lambda" => {
            if !LAMBDA_METRICS.contains(&s.metric.as_str()) {
                problems.push(format!("{what}: not an allowed AWS/Lambda metric"));
            }
            if names != only("FunctionName") || value("FunctionName") != Some("WrapUpFunction") {
                problems.push(format!("{what}: not FunctionName = ${{WrapUpFunction}}"));
            }
        }
        "AWS/SQS" => {
            if !SQS_METRICS.contains(&s.metric.as_str()) {
                problems.push(format!("{what}: not an allowed AWS/SQS metric"));
            }
            let queues = ["AttentionQueue.QueueName", "BufferQueue.QueueName"];
            if names != only("QueueName")
                || !value("QueueName").is_some_and(|q| queues.contains(&q))
            {
                problems.push(format!(
                    "{what}: not QueueName = one of this stack's queues"
                ));
            }
        }
        other => problems.push(format!("{what}: unexpected namespace {other}")),
    }
    if s.search && s.namespace != METRICS_NAMESPACE {
        problems.push(format!("{what}: SEARCH outside {METRICS_NAMESPACE}"));
    }
    problems
}

/// Everything wrong with the template's dashboard, for both values of `UseBufferQueue`.
fn cloudwatch_problems(template: &str) -> Vec<String> {
    let emitted = emitted_metrics();
    let mut problems = Vec::new();
    for buffered in [false, true] {
        match dashboard(template, buffered) {
            Ok(d) => {
                let (found, mut p) = shown(&d);
                problems.append(&mut p);
                for s in &found {
                    problems.extend(metric_problems(s, emitted));
                }
            }
            Err(e) => problems.push(format!("UseBufferQueue={buffered}: {e}")),
        }
    }
    problems
}

fn shows(found: &[Shown], namespace: &str, metric: &str, stat: &str) -> bool {
    found
        .iter()
        .any(|s| s.namespace == namespace && s.metric == metric && s.stat == stat)
}

#[test]
fn the_cloudwatch_dashboard_names_only_what_the_function_emits() {
    let problems = cloudwatch_problems(TEMPLATE);
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn the_cloudwatch_dashboard_has_the_required_widgets() {
    let (found, problems) = shown(&dashboard(TEMPLATE, false).unwrap());
    assert!(problems.is_empty(), "{problems:#?}");
    for metric in [
        "Applied",
        "AlreadyApplied",
        "Rejected",
        "Skipped",
        "WouldApply",
    ] {
        assert!(
            shows(&found, METRICS_NAMESPACE, metric, "Sum"),
            "{metric} Sum"
        );
    }
    let outcomes_by_reason = found.iter().find(|s| s.search && s.metric == "Outcomes");
    assert_eq!(
        outcomes_by_reason.map(|s| s.dimensions.clone()),
        Some(vec![
            ("FunctionName".into(), "WrapUpFunction".into()),
            ("Reason".into(), String::new()),
        ])
    );
    let calls = found
        .iter()
        .find(|s| s.search && s.metric == "GenesysCalls");
    assert_eq!(
        calls.map(|s| s
            .dimensions
            .iter()
            .map(|(n, _)| n.as_str())
            .collect::<Vec<_>>()),
        Some(vec!["Endpoint", "FunctionName", "StatusCode"])
    );
    // Copilot: what `observe` rules recorded and how often agents agreed, by confidence band.
    for metric in ["Predictions", "PredictionAgreed"] {
        let banded = found.iter().find(|s| s.search && s.metric == metric);
        assert_eq!(
            banded.map(|s| s
                .dimensions
                .iter()
                .map(|(n, _)| n.as_str())
                .collect::<Vec<_>>()),
            Some(vec!["ConfidenceBand", "FunctionName"]),
            "{metric}"
        );
    }
    assert!(found
        .iter()
        .filter(|s| s.search)
        .all(|s| s.stat == "Sum" && s.period == 300));
    for stat in ["p50", "p99"] {
        assert!(shows(&found, METRICS_NAMESPACE, "HandlerLatency", stat));
    }
    for metric in ["TransientFailures", "Retries"] {
        assert!(shows(&found, METRICS_NAMESPACE, metric, "Sum"), "{metric}");
    }
    for metric in LAMBDA_METRICS {
        assert!(shows(&found, "AWS/Lambda", metric, "Sum"), "{metric}");
    }
    let queue = |found: &[Shown], queue: &str| {
        SQS_METRICS.iter().all(|metric| {
            found.iter().any(|s| {
                s.namespace == "AWS/SQS"
                    && s.metric == *metric
                    && s.stat == "Maximum"
                    && s.dimensions == [("QueueName".to_owned(), queue.to_owned())]
            })
        })
    };
    assert!(queue(&found, "AttentionQueue.QueueName"));
    assert!(found.iter().all(|s| s.period == 300));
    // The buffer queue's widget exists exactly when the queue does.
    assert!(!found.iter().any(|s| s
        .dimensions
        .iter()
        .any(|(_, v)| v.starts_with("BufferQueue"))));
    let (with_buffer, problems) = shown(&dashboard(TEMPLATE, true).unwrap());
    assert!(problems.is_empty(), "{problems:#?}");
    assert!(queue(&with_buffer, "BufferQueue.QueueName"));
    assert_eq!(with_buffer.len(), found.len() + SQS_METRICS.len());
    let blocks = body_blocks(TEMPLATE).unwrap();
    let guarded: Vec<_> = blocks.iter().filter(|b| b.condition.is_some()).collect();
    assert_eq!(guarded.len(), 1);
    assert_eq!(guarded[0].condition.as_deref(), Some("UseBufferQueue"));
    assert!(guarded[0].text.contains("${BufferQueue.QueueName}"));
    assert!(guarded[0].text.trim_start().starts_with(','));
    assert!(blocks
        .iter()
        .filter(|b| b.condition.is_none())
        .all(|b| !b.text.contains("BufferQueue")));
    assert!(TEMPLATE.contains("      DashboardName: !Sub \"${AWS::StackName}-wrapup\"\n"));
    let url = "https://${AWS::Region}.console.aws.amazon.com/cloudwatch/home\
               ?region=${AWS::Region}#dashboards:name=${WrapUpDashboard}";
    let output = TEMPLATE.split_once("\n  DashboardUrl:\n").map(|(_, o)| o);
    assert!(output.is_some_and(|o| o.contains(&format!("    Value: !Sub \"{url}\"\n"))));
}

/// The checker is not vacuous: each of these edits of the real template must be caught.
#[test]
fn the_cloudwatch_check_catches_misspelt_names() {
    assert!(cloudwatch_problems(TEMPLATE).is_empty());
    let edits = [
        (
            r#""GenesysWrapUp", "Retries""#,
            r#""GenesysWrapUp", "Retry""#,
        ),
        (r#"MetricName=\"Outcomes\""#, r#"MetricName=\"Outcome\""#),
        (
            "{GenesysWrapUp,FunctionName,Reason}",
            "{GenesysWrapUp,FunctionName,Reasons}",
        ),
        (
            "{GenesysWrapUp,Endpoint,FunctionName,StatusCode}",
            "{GenesysWrapUp,Endpoint,FunctionName}",
        ),
        (
            r#""GenesysWrapUp", "Skipped", "FunctionName""#,
            r#""GenesysWrapUp", "Skipped", "Function""#,
        ),
        (r#""AsyncEventsDropped""#, r#""AsyncEventDropped""#),
        (r#""${BufferQueue.QueueName}"]"#, r#""${BufferQueue}"]"#),
        (
            r#""${AttentionQueue.QueueName}"]"#,
            r#""${WrapUpFunction}"]"#,
        ),
        ("GenesysWrapUp\", \"Applied", "GenesysWrapup\", \"Applied"),
        // A stray comma: the body is no longer JSON.
        (r#"{"yAxis": "right"}]"#, r#"{"yAxis": "right"},]"#),
        (
            "            - UseBufferQueue\n",
            "            - IsBuffered\n",
        ),
    ];
    for (from, to) in edits {
        assert!(TEMPLATE.contains(from), "{from}");
        let edited = TEMPLATE.replacen(from, to, 1);
        assert!(
            !cloudwatch_problems(&edited).is_empty(),
            "not caught: {from} -> {to}"
        );
    }
    // JSON outside the blocks would escape the check: it is refused.
    let hidden = TEMPLATE.replacen(
        "          - !If\n",
        "          - \",{}\"\n          - !If\n",
        1,
    );
    assert!(body_blocks(&hidden)
        .unwrap_err()
        .contains("unexpected line"));
}

#[test]
fn search_expressions_are_read_exactly() {
    let s = search(r#"SEARCH('{GenesysWrapUp,FunctionName,Reason} MetricName="Outcomes" FunctionName="f"', 'Sum', 300)"#)
        .unwrap();
    assert_eq!(
        (
            s.namespace.as_str(),
            s.metric.as_str(),
            s.stat.as_str(),
            s.period
        ),
        ("GenesysWrapUp", "Outcomes", "Sum", 300)
    );
    assert_eq!(
        s.dimensions,
        [
            ("FunctionName".to_owned(), "f".to_owned()),
            ("Reason".to_owned(), String::new())
        ]
    );
    assert!(search("SEARCH('{GenesysWrapUp,FunctionName} Outcomes', 'Sum', 300)").is_err());
    assert!(search(r#"SEARCH('{GenesysWrapUp,FunctionName} Reason="x"', 'Sum', 300)"#).is_err());
    assert!(search(r#"SUM(SEARCH('{GenesysWrapUp} MetricName="x"', 'Sum', 300))"#).is_err());
}

// ---------------------------------------------------------------------------------------------
// New Relic: dashboards/newrelic-genesys-wrapup.json

/// What is wrong with one NRQL query: a backticked name that is neither the event type nor an
/// attribute, an attribute written without backticks, no attribute at all, or a `status` /
/// `dryRun` literal the events never carry.
fn nrql_problems(query: &str, events: &Events) -> Vec<String> {
    let mut problems = Vec::new();
    let parts: Vec<&str> = query.split('`').collect();
    if parts.len().is_multiple_of(2) {
        return vec![format!("unbalanced backticks: {query}")];
    }
    let names: Vec<&str> = parts.iter().skip(1).step_by(2).copied().collect();
    // Which event type the query reads, and so which attributes it may name.
    let (event_type, attributes) = if query.contains(&format!("FROM `{PREDICTION_EVENT_TYPE}`")) {
        (PREDICTION_EVENT_TYPE, &events.predictions)
    } else {
        (EVENT_TYPE, &events.attributes)
    };
    for name in &names {
        if *name != event_type && !attributes.contains(*name) {
            problems.push(format!(
                "`{name}` is neither {event_type} nor one of its attributes: {query}"
            ));
        }
    }
    if !names.iter().any(|n| attributes.contains(*n)) {
        problems.push(format!("no backticked attribute: {query}"));
    }
    if !query.contains(&format!("FROM `{event_type}`")) {
        problems.push(format!("not FROM `{event_type}`: {query}"));
    }
    // Outside backticks (and quotes), no attribute name may stand as a word.
    for (i, part) in parts.iter().enumerate().step_by(2) {
        let unquoted: String = part.split('\'').step_by(2).collect::<Vec<_>>().join(" ");
        for word in unquoted.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
            if attributes.contains(word) || word == event_type {
                problems.push(format!("{word} without backticks (part {i}): {query}"));
            }
        }
    }
    for (attribute, values) in [("status", &events.statuses), ("dryRun", &events.dry_run)] {
        let pattern = format!("`{attribute}` = ");
        for (at, _) in query.match_indices(&pattern) {
            let literal = query[at + pattern.len()..]
                .split_whitespace()
                .next()
                .unwrap_or("")
                .trim_matches('\'');
            if !values.contains(literal) {
                problems.push(format!("{attribute} is never {literal:?}: {query}"));
            }
        }
    }
    problems
}

/// Everything wrong with the New Relic dashboard's JSON.
fn new_relic_problems(doc: &Value, events: &Events) -> Vec<String> {
    let mut problems = Vec::new();
    for key in ["name", "description"] {
        if !doc[key].is_string() {
            problems.push(format!("no {key}"));
        }
    }
    if doc["permissions"] != "PUBLIC_READ_WRITE" || !doc["variables"].is_array() {
        problems.push("permissions or variables".into());
    }
    let widgets: Vec<&Value> = doc["pages"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|p| p["widgets"].as_array().into_iter().flatten())
        .collect();
    if widgets.is_empty() {
        problems.push("no widgets".into());
    }
    for w in widgets {
        let title = w["title"].as_str().unwrap_or("<no title>");
        let layout = &w["layout"];
        if !["column", "row", "width", "height"]
            .iter()
            .all(|k| layout[k].as_u64().is_some_and(|n| n >= 1))
        {
            problems.push(format!("{title}: layout"));
        }
        if !w["visualization"]["id"]
            .as_str()
            .is_some_and(|v| v.starts_with("viz."))
        {
            problems.push(format!("{title}: visualization"));
        }
        let queries = w["rawConfiguration"]["nrqlQueries"].as_array();
        if queries.is_none_or(Vec::is_empty) {
            problems.push(format!("{title}: no nrqlQueries"));
        }
        for q in queries.into_iter().flatten() {
            if q["accountIds"] != json!([0]) {
                problems.push(format!("{title}: accountIds is not [0]"));
            }
            match q["query"].as_str() {
                Some(query) => problems.extend(nrql_problems(query, events)),
                None => problems.push(format!("{title}: no query")),
            }
        }
    }
    problems
}

/// (visualization, query) of every widget.
fn new_relic_queries(doc: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for page in doc["pages"].as_array().unwrap() {
        for w in page["widgets"].as_array().unwrap() {
            for q in w["rawConfiguration"]["nrqlQueries"].as_array().unwrap() {
                out.push((
                    w["visualization"]["id"].as_str().unwrap().to_owned(),
                    q["query"].as_str().unwrap().to_owned(),
                ));
            }
        }
    }
    out
}

/// The backticked names after FACET.
fn facets(query: &str) -> Vec<&str> {
    let Some((_, after)) = query.split_once(" FACET ") else {
        return Vec::new();
    };
    let end = [" TIMESERIES", " SINCE", " LIMIT", " UNTIL", " WHERE"]
        .iter()
        .filter_map(|k| after.find(k))
        .min()
        .unwrap_or(after.len());
    after[..end].split('`').skip(1).step_by(2).collect()
}

#[tokio::test]
async fn the_new_relic_dashboard_names_only_what_the_events_carry() {
    let events = emitted_events().await;
    let doc: Value = serde_json::from_str(NEW_RELIC).unwrap();
    let problems = new_relic_problems(&doc, &events);
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn the_new_relic_dashboard_has_the_required_views() {
    let doc: Value = serde_json::from_str(NEW_RELIC).unwrap();
    let queries = new_relic_queries(&doc);
    let has = |what: &str, test: &dyn Fn(&str, &str) -> bool| {
        assert!(
            queries.iter().any(|(viz, q)| test(viz, q)),
            "no {what} in {queries:#?}"
        );
    };
    has("outcomes by status over time", &|viz, q| {
        viz == "viz.line" && q.contains("TIMESERIES") && facets(q) == ["status"]
    });
    has("outcomes by reason", &|_, q| {
        facets(q).contains(&"reason") && !q.contains("transient_failure")
    });
    has("latency p50/p99", &|_, q| {
        q.contains("percentile(`durationMs`, 50, 99)")
    });
    has("transient failures by reason", &|_, q| {
        q.contains("`status` = 'transient_failure'") && facets(q) == ["reason"]
    });
    has("rejections with Genesys's correlation id", &|viz, q| {
        viz == "viz.table"
            && q.contains("`status` = 'rejected'")
            && q.contains("`genesysCorrelationId`")
            && q.contains("`conversationId`")
    });
    has("dry run would_apply by code", &|_, q| {
        q.contains("`dryRun` = 1")
            && q.contains("`status` = 'would_apply'")
            && facets(q) == ["wrapUpCodeName"]
    });
    // Like terms: the name of the code the agent had against the name the function chose,
    // never an id against a name.
    has("outcomes by the code the agent had, by name", &|_, q| {
        let f = facets(q);
        f.contains(&"currentWrapUpCodeName")
            && f.contains(&"wrapUpCodeName")
            && !f.contains(&"currentWrapUpCode")
    });
    for (_, q) in &queries {
        let f = facets(q);
        assert!(
            !(f.contains(&"currentWrapUpCode") && f.contains(&"wrapUpCodeName")),
            "an id compared with a name: {q}"
        );
    }
    // Copilot: the agreement rate by confidence band and by queue.
    has("Copilot agreement by confidence band", &|_, q| {
        q.contains("FROM `WrapUpPrediction`")
            && q.contains("average(`agreed`)")
            && q.contains("cases(WHERE `confidence`")
    });
    has("Copilot agreement by queue", &|_, q| {
        q.contains("FROM `WrapUpPrediction`")
            && q.contains("average(`agreed`)")
            && facets(q) == ["queueId"]
    });
}

/// The checker is not vacuous: each of these edits must be caught.
#[tokio::test]
async fn the_new_relic_check_catches_misspelt_names() {
    let events = emitted_events().await;
    let doc: Value = serde_json::from_str(NEW_RELIC).unwrap();
    assert!(new_relic_problems(&doc, &events).is_empty());
    for (from, to) in [
        ("`wrapUpCodeName`", "`wrapupCodeName`"),
        ("FROM `GenesysWrapUp`", "FROM `GenesysWrapup`"),
        ("'transient_failure'", "'transient'"),
        ("`dryRun` = 1", "`dryRun` = true"),
        ("FACET `status`", "FACET status"),
        ("`durationMs`", "`duration`"),
        ("`currentWrapUpCodeName`", "`currentWrapupCodeName`"),
    ] {
        assert!(NEW_RELIC.contains(from), "{from}");
        let edited: Value = serde_json::from_str(&NEW_RELIC.replacen(from, to, 1)).unwrap();
        assert!(
            !new_relic_problems(&edited, &events).is_empty(),
            "not caught: {from} -> {to}"
        );
    }
    let mut account = doc.clone();
    account["pages"][0]["widgets"][2]["rawConfiguration"]["nrqlQueries"][0]["accountIds"] =
        json!([1234567]);
    assert!(!new_relic_problems(&account, &events).is_empty());
    let nrql = |q: &str| nrql_problems(q, &events);
    assert!(!nrql("SELECT count(*) FROM `GenesysWrapUp` SINCE 1 day ago").is_empty());
    assert!(!nrql("SELECT count(*) FROM `GenesysWrapUp` FACET `status").is_empty());
    assert!(nrql("SELECT count(*) FROM `GenesysWrapUp` FACET `status`").is_empty());
}

// ---------------------------------------------------------------------------------------------
// Alarms: the template's own metrics are ones the function emits, and every drop has an alarm.

/// `(alarm, metric, dimension names)` for each of the function's own metrics an alarm reads.
fn alarm_metrics(template: &str) -> Vec<(String, String, BTreeSet<String>)> {
    let lines: Vec<&str> = template.lines().collect();
    let mut found = Vec::new();
    let mut alarm = String::new();
    for (i, line) in lines.iter().enumerate() {
        if line.starts_with("  ") && !line.starts_with("   ") && line.trim_end().ends_with(':') {
            alarm = line.trim().trim_end_matches(':').to_owned();
        }
        if line.trim() == format!("Namespace: {METRICS_NAMESPACE}") {
            let metric = lines[i + 1..]
                .iter()
                .take(3)
                .find_map(|l| l.trim().strip_prefix("MetricName: "))
                .unwrap_or("<none>");
            // The metric's `Dimensions:` list: `- Name: X` / `Value: ...` pairs right after it.
            let dimensions = lines[i + 1..]
                .iter()
                .skip_while(|l| l.trim() != "Dimensions:")
                .skip(1)
                .take_while(|l| {
                    let l = l.trim();
                    l.starts_with("- Name: ") || l.starts_with("Value: ")
                })
                .filter_map(|l| l.trim().strip_prefix("- Name: "))
                .map(str::to_owned)
                .collect();
            found.push((alarm.clone(), metric.to_owned(), dimensions));
        }
    }
    found
}

#[test]
fn the_alarms_read_only_what_the_function_emits_and_every_drop_has_one() {
    let emitted = emitted_metrics();
    let used = alarm_metrics(TEMPLATE);
    for (alarm, metric, dimensions) in &used {
        let sets = emitted
            .get(metric)
            .unwrap_or_else(|| panic!("{alarm} reads {metric}, which the function never emits"));
        assert!(
            sets.contains(dimensions),
            "{alarm} reads {metric} by {dimensions:?}; the function emits it by {sets:?}"
        );
    }
    let reads = |alarm: &str, metric: &str| used.iter().any(|(a, m, _)| a == alarm && m == metric);
    assert!(reads("AttentionAlarm", "AttentionRecords") && reads("AttentionAlarm", "Exhausted"));
    assert!(reads("RulesInvalidAlarm", "RulesInvalid"));
    assert!(reads("TransientFailuresAlarm", "TransientFailures"));
    assert!(
        !reads("AttentionAlarm", "Rejected"),
        "dry-run rejections page no one"
    );
    // Rollback alarms read the version being deployed; the paging ones the whole function.
    let by_version = |alarm: &str| {
        used.iter()
            .filter(|(a, _, _)| a == alarm)
            .all(|(_, _, d)| d.contains("ExecutedVersion"))
    };
    for alarm in ["RollbackRejectionsAlarm", "RollbackTransientAlarm"] {
        assert!(reads(
            alarm,
            if alarm.contains("Reject") {
                "Rejected"
            } else {
                "TransientFailures"
            }
        ));
        assert!(by_version(alarm), "{alarm} reads the new version only");
    }
    assert!(used
        .iter()
        .filter(|(a, _, _)| !a.starts_with("Rollback"))
        .all(|(_, _, d)| *d == BTreeSet::from(["FunctionName".to_owned()])));
    for (alarm, needs) in [
        ("ErrorsAlarm", "MetricName: Errors"),
        ("ThrottlesAlarm", "MetricName: Throttles"),
        ("DroppedEventsAlarm", "MetricName: AsyncEventsDropped"),
        (
            "DroppedEventsAlarm",
            "MetricName: DestinationDeliveryFailures",
        ),
        (
            "DroppedEventsAlarm",
            "MetricName: InvocationsFailedToBeSentToDlq",
        ),
        ("AttentionAlarm", "MetricName: InvocationsSentToDlq"),
        (
            "BufferAgeAlarm",
            "MetricName: ApproximateAgeOfOldestMessage",
        ),
        (
            "AttentionQueueDepthAlarm",
            "MetricName: ApproximateNumberOfMessagesVisible",
        ),
        (
            "AttentionQueueAgeAlarm",
            "MetricName: ApproximateAgeOfOldestMessage",
        ),
    ] {
        let block = TEMPLATE
            .split_once(&format!("\n  {alarm}:\n"))
            .map(|(_, rest)| rest.split("\n\n").next().unwrap_or(""))
            .unwrap_or_else(|| panic!("no {alarm}"));
        assert!(block.contains(needs), "{alarm} lacks {needs}");
        assert!(
            block.contains(
                "AlarmActions: !If [HasAlarmTopic, [!Ref AlarmTopicArn], !Ref AWS::NoValue]"
            ),
            "{alarm} notifies the alarm topic"
        );
    }
    // Not vacuous: a misspelt metric, or a dimension the function does not emit, is caught.
    let emits = |(_, m, d): &(String, String, BTreeSet<String>)| {
        emitted.get(m).is_some_and(|sets| sets.contains(d))
    };
    let edited = TEMPLATE.replacen("MetricName: RulesInvalid", "MetricName: RuleInvalid", 1);
    assert!(!alarm_metrics(&edited).iter().all(emits));
    let rejected_by_version = "MetricName: Rejected\n      Dimensions:\n        - Name: FunctionName\n          Value: !Ref WrapUpFunction\n        - Name: ExecutedVersion\n";
    assert!(TEMPLATE.contains(rejected_by_version));
    let edited = TEMPLATE.replacen(
        rejected_by_version,
        &rejected_by_version.replace("ExecutedVersion", "Version"),
        1,
    );
    assert!(!alarm_metrics(&edited).iter().all(emits));
}
