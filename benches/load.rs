//! Load: ≥ 10,000 apply requests through the SQS handler against the emulator, with 10% of
//! Genesys requests failing transiently (503, 429, and writes that land but answer 503).
//! Failed messages are re-delivered as SQS would. Every request must end applied, none lost,
//! none written twice. Run: `cargo bench --bench load` (optionally `-- <requests>`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a harness: a failed setup stops the run

use genesys_wrapup::sandbox::demo::{conversation_id, ended_call, CODE_SALE};
use genesys_wrapup::sandbox::ManualClock;
use genesys_wrapup::sandbox::Sandbox;
use genesys_wrapup::{handle, Deadline, Invocation};
use serde_json::{json, Value};
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

const FIRST: u32 = 1_000;
const BATCH: usize = 10;
const FAULT_RATE: f64 = 0.10;

fn batch(messages: &[(String, String, u32)]) -> Value {
    let records: Vec<Value> = messages
        .iter()
        .map(|(id, body, receives)| {
            json!({
                "messageId": id, "receiptHandle": format!("rh-{id}-{receives}"), "body": body,
                "attributes": {"ApproximateReceiveCount": receives.to_string()},
                "messageAttributes": {}, "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:eu-west-1:123456789012:wrapup-buffer", "awsRegion": "eu-west-1"
            })
        })
        .collect();
    json!({ "Records": records })
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[tokio::main]
async fn main() {
    let requests: u32 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(10_000);
    let sandbox = Sandbox::start().await.expect("sandbox");
    for n in FIRST..FIRST + requests {
        sandbox.emulator.put_conversation(ended_call(n));
    }
    let clock = Arc::new(ManualClock::starting_now());
    // The limiter is tested on its own; here it must not be the bottleneck.
    let app = sandbox
        .app(
            &[("GENESYS_RATE_LIMIT_PER_MINUTE", "100000")],
            clock.clone(),
        )
        .await
        .expect("app");
    sandbox.emulator.set_random_faults(FAULT_RATE, 0x5eed);

    let mut pending: VecDeque<(String, String, u32)> = (FIRST..FIRST + requests)
        .map(|n| {
            let body =
                json!({"conversationId": conversation_id(n), "wrapUpCode": {"id": CODE_SALE}})
                    .to_string();
            (format!("m{n}"), body, 1)
        })
        .collect();
    let mut latencies = Vec::new();
    let mut redeliveries = 0usize;
    let started = Instant::now();
    while !pending.is_empty() {
        let take = pending.len().min(BATCH);
        let messages: Vec<_> = pending.drain(..take).collect();
        let inv = Invocation::new(
            "load",
            Deadline::after(clock.as_ref(), Duration::from_secs(30)),
        );
        let t0 = Instant::now();
        let reply = handle(&app, &batch(&messages), &inv)
            .await
            .expect("batch response");
        let response = serde_json::to_value(reply).expect("replies serialise");
        latencies.push(t0.elapsed());
        let failed: Vec<&str> = response["batchItemFailures"]
            .as_array()
            .expect("batchItemFailures")
            .iter()
            .filter_map(|f| f["itemIdentifier"].as_str())
            .collect();
        for (id, body, receives) in messages {
            if failed.contains(&id.as_str()) {
                redeliveries += 1;
                assert!(receives < 50, "{id} never succeeded");
                pending.push_back((id, body, receives + 1));
            }
        }
    }
    let elapsed = started.elapsed();

    // Every conversation ends with the code, written exactly once.
    let mut writes: HashMap<String, usize> = HashMap::new();
    for w in sandbox.emulator.writes() {
        *writes.entry(w.conversation_id).or_default() += 1;
    }
    let lost: Vec<u32> = (FIRST..FIRST + requests)
        .filter(|n| {
            let c = sandbox
                .emulator
                .conversation(&conversation_id(*n))
                .unwrap_or_default();
            c["participants"][1]["wrapup"]["code"] != CODE_SALE
        })
        .collect();
    let written_twice = writes.values().filter(|&&w| w > 1).count();
    let requests_served = sandbox.emulator.requests().len();

    latencies.sort();
    println!("| measure | value |");
    println!("|---|---|");
    println!("| apply requests | {requests} |");
    println!(
        "| injected transient fault rate | {:.0}% of Genesys requests |",
        FAULT_RATE * 100.0
    );
    println!(
        "| SQS invocations (batches of {BATCH}) | {} |",
        latencies.len()
    );
    println!("| re-deliveries | {redeliveries} |");
    println!("| Genesys requests served | {requests_served} |");
    println!("| requests applied | {} |", requests as usize - lost.len());
    println!("| lost | {} |", lost.len());
    println!("| written twice | {written_twice} |");
    println!(
        "| throughput | {:.0} requests/s |",
        f64::from(requests) / elapsed.as_secs_f64()
    );
    println!(
        "| handler latency per batch, p50 | {:.2} ms |",
        percentile(&latencies, 0.50).as_secs_f64() * 1e3
    );
    println!(
        "| handler latency per batch, p99 | {:.2} ms |",
        percentile(&latencies, 0.99).as_secs_f64() * 1e3
    );
    assert!(lost.is_empty(), "lost: {:?}", &lost[..lost.len().min(10)]);
    assert_eq!(written_twice, 0, "a request was written twice");
    assert_eq!(writes.len(), requests as usize);
}
