//! Load: ≥ 10,000 apply requests through the SQS handler against the emulator, with 10% of
//! Genesys requests failing transiently (503, 429, and writes that land but answer 503).
//! Failed messages are re-delivered as SQS would. Every request must end applied, none lost,
//! none written twice.
//!
//! Three runs: one instance receiving each request once (redeliveries one after the other);
//! every request delivered twice at the same instant to two of four instances that share a
//! lease table (`WRAPUP_LOCK_TABLE` on moto's DynamoDB, `MOTO_ENDPOINT`; `scripts/test.sh`
//! starts it); every request delivered again right after it was applied, to another instance,
//! while Genesys's reads still lag behind the write (each answered from the lease table, with no
//! Genesys call). Run: `cargo bench --bench load` (optionally `-- <requests>`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a harness: a failed setup stops the run

use futures_util::future::join_all;
use genesys_wrapup::sandbox::demo::{conversation_id, ended_call, CODE_SALE};
use genesys_wrapup::sandbox::{create_lock_table, ManualClock, Sandbox};
use genesys_wrapup::{handle, App, Clock, Deadline, Invocation};
use serde_json::{json, Value};
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

const FIRST: u32 = 1_000;
const BATCH: usize = 10;
const FAULT_RATE: f64 = 0.10;
/// Instances sharing the lease table in the concurrent run.
const WORKERS: usize = 4;
/// Requests of each pass that shares a lease table on moto.
const SHARED_REQUESTS: u32 = 3_000;

fn batch_event(messages: &[(String, String, u32)]) -> Value {
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

/// The concurrent pass's time: instances sharing leases must share a clock that moves only
/// between rounds, when no delivery is running. A manual clock advanced by every instance's
/// in-place waits would age a live lease past its expiry while its holder is still working,
/// which no real clock can do within the holder's deadline; real time would make SQS's waits
/// real. In-place waits here take no time.
struct SteppedClock(std::sync::Mutex<std::time::SystemTime>);

impl SteppedClock {
    fn new() -> Self {
        Self(std::sync::Mutex::new(std::time::SystemTime::now()))
    }

    fn step(&self, by: Duration) {
        *self.0.lock().unwrap() += by;
    }
}

impl Clock for SteppedClock {
    fn now(&self) -> std::time::SystemTime {
        *self.0.lock().unwrap()
    }

    fn sleep(
        &self,
        _: Duration,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> {
        Box::pin(std::future::ready(()))
    }
}

/// What a run measured.
struct Run {
    invocations: usize,
    redeliveries: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

/// One instance handling one batch: the messages SQS would receive again.
async fn deliver(app: &App, clock: &dyn Clock, messages: &[(String, String, u32)]) -> Vec<String> {
    let inv = Invocation::new("load", Deadline::after(clock, Duration::from_secs(30)));
    let reply = handle(app, &batch_event(messages), &inv)
        .await
        .expect("batch response");
    let response = serde_json::to_value(reply).expect("replies serialise");
    response["batchItemFailures"]
        .as_array()
        .expect("batchItemFailures")
        .iter()
        .filter_map(|f| f["itemIdentifier"].as_str().map(str::to_owned))
        .collect()
}

fn messages(requests: u32) -> VecDeque<(String, String, u32)> {
    (FIRST..FIRST + requests)
        .map(|n| {
            let body =
                json!({"conversationId": conversation_id(n), "wrapUpCode": {"id": CODE_SALE}})
                    .to_string();
            (format!("m{n}"), body, 1)
        })
        .collect()
}

/// Each request once, to one instance.
async fn one_at_a_time(app: &App, clock: &ManualClock, requests: u32) -> Run {
    let mut pending = messages(requests);
    let mut latencies = Vec::new();
    let mut redeliveries = 0usize;
    let started = Instant::now();
    while !pending.is_empty() {
        let take = pending.len().min(BATCH);
        let messages: Vec<_> = pending.drain(..take).collect();
        let t0 = Instant::now();
        let failed = deliver(app, clock, &messages).await;
        latencies.push(t0.elapsed());
        for (id, body, receives) in messages {
            if failed.contains(&id) {
                redeliveries += 1;
                assert!(receives < 50, "{id} never succeeded");
                pending.push_back((id, body, receives + 1));
            }
        }
    }
    Run {
        invocations: latencies.len(),
        redeliveries,
        elapsed: started.elapsed(),
        latencies,
    }
}

/// Each request twice at the same instant, to two different instances sharing the lease table;
/// `WORKERS / 2` such pairs run at once on different requests. A copy that fails is received
/// again alone, as SQS would, by the next instance in turn.
async fn duplicates_at_once(workers: &[App], clock: &SteppedClock, requests: u32) -> Run {
    let mut fresh = messages(requests);
    let mut again: VecDeque<(String, String, u32)> = VecDeque::new();
    let mut latencies = Vec::new();
    let mut invocations = 0usize;
    let mut redeliveries = 0usize;
    let started = Instant::now();
    let mut round = 0usize;
    while !fresh.is_empty() || !again.is_empty() {
        let mut work = Vec::new();
        for pair in 0..workers.len() / 2 {
            let a = &workers[(2 * pair + round) % workers.len()];
            let b = &workers[(2 * pair + 1 + round) % workers.len()];
            let take = fresh.len().min(BATCH);
            let twice: Vec<_> = fresh.drain(..take).collect();
            let take = again.len().min(BATCH);
            let once: Vec<_> = again.drain(..take).collect();
            invocations += 2 * usize::from(!twice.is_empty()) + usize::from(!once.is_empty());
            work.push(async move {
                let t0 = Instant::now();
                let ((fa, fb), fc) = tokio::join!(
                    async {
                        if twice.is_empty() {
                            return (Vec::new(), Vec::new());
                        }
                        tokio::join!(deliver(a, clock, &twice), deliver(b, clock, &twice))
                    },
                    async {
                        if once.is_empty() {
                            return Vec::new();
                        }
                        deliver(b, clock, &once).await
                    }
                );
                let mut failed = Vec::new();
                for (id, body, receives) in twice {
                    for copy in [&fa, &fb] {
                        if copy.contains(&id) {
                            failed.push((id.clone(), body.clone(), receives));
                        }
                    }
                }
                failed.extend(once.into_iter().filter(|(id, _, _)| fc.contains(id)));
                (failed, t0.elapsed())
            });
        }
        round += 1;
        let done = join_all(work).await;
        // Every delivery of the round has finished: time may pass (as it does before SQS hands
        // a failed message out again), and a lease kept after a write with an unknown result
        // expires. No live lease is aged.
        clock.step(Duration::from_secs(31));
        for (failed, took) in done {
            latencies.push(took);
            for (id, body, receives) in failed {
                redeliveries += 1;
                assert!(receives < 50, "{id} never succeeded");
                again.push_back((id, body, receives + 1));
            }
        }
    }
    Run {
        invocations,
        redeliveries,
        elapsed: started.elapsed(),
        latencies,
    }
}

/// Every conversation has the code, written exactly once; prints the table.
fn report(sandbox: &Sandbox, requests: u32, title: &str, mut run: Run) {
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

    run.latencies.sort();
    println!("\n{title}\n");
    println!("| measure | value |");
    println!("|---|---|");
    println!("| apply requests | {requests} |");
    println!(
        "| injected transient fault rate | {:.0}% of Genesys requests |",
        FAULT_RATE * 100.0
    );
    println!(
        "| SQS invocations (batches of up to {BATCH}) | {} |",
        run.invocations
    );
    println!("| re-deliveries | {} |", run.redeliveries);
    println!("| Genesys requests served | {requests_served} |");
    println!("| requests applied | {} |", requests as usize - lost.len());
    println!("| lost | {} |", lost.len());
    println!("| written twice | {written_twice} |");
    println!(
        "| throughput | {:.0} requests/s |",
        f64::from(requests) / run.elapsed.as_secs_f64()
    );
    println!(
        "| handler latency per batch, p50 | {:.2} ms |",
        percentile(&run.latencies, 0.50).as_secs_f64() * 1e3
    );
    println!(
        "| handler latency per batch, p99 | {:.2} ms |",
        percentile(&run.latencies, 0.99).as_secs_f64() * 1e3
    );
    assert!(lost.is_empty(), "lost: {:?}", &lost[..lost.len().min(10)]);
    assert_eq!(written_twice, 0, "a request was written twice");
    assert_eq!(writes.len(), requests as usize);
}

/// A sandbox whose emulator holds `requests` ended calls and fails 10% of requests.
async fn sandbox(requests: u32) -> Sandbox {
    let sandbox = Sandbox::start().await.expect("sandbox");
    for n in FIRST..FIRST + requests {
        sandbox.emulator.put_conversation(ended_call(n));
    }
    sandbox.emulator.set_random_faults(FAULT_RATE, 0x5eed);
    sandbox
}

/// The limiter is tested on its own; here it must not be the bottleneck.
const NO_LIMIT: (&str, &str) = ("GENESYS_RATE_LIMIT_PER_MINUTE", "100000");

#[tokio::main]
async fn main() {
    let requests: u32 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(10_000);
    // The passes on moto's DynamoDB go at its pace (one request at a time, a few ms each).
    let shared_requests = requests.min(SHARED_REQUESTS);
    let clock = Arc::new(ManualClock::starting_now());

    let single = sandbox(requests).await;
    let app = single.app(&[NO_LIMIT], clock.clone()).await.expect("app");
    let run = one_at_a_time(&app, &clock, requests).await;
    report(
        &single,
        requests,
        "Each request delivered once, one instance:",
        run,
    );
    drop(single);

    let endpoint = std::env::var("MOTO_ENDPOINT").expect(
        "MOTO_ENDPOINT: the concurrent run needs moto's DynamoDB for its lease table (scripts/test.sh starts it)",
    );
    let table = create_lock_table(&endpoint, true)
        .await
        .expect("moto creates the lease table");
    let shared = sandbox(shared_requests).await;
    let env = [
        NO_LIMIT,
        ("WRAPUP_LOCK_TABLE", table.as_str()),
        ("AWS_ENDPOINT_URL_DYNAMODB", endpoint.as_str()),
    ];
    let stepped = Arc::new(SteppedClock::new());
    let wall: Arc<dyn Clock> = stepped.clone();
    let mut workers = Vec::new();
    for _ in 0..WORKERS {
        workers.push(shared.app(&env, wall.clone()).await.expect("app"));
    }
    let run = duplicates_at_once(&workers, &stepped, shared_requests).await;
    report(
        &shared,
        shared_requests,
        &format!("Each request delivered twice at the same instant, to two of {WORKERS} instances sharing a lease table:"),
        run,
    );
    drop(shared);

    // Every request delivered again right after it was applied, to another instance, while
    // Genesys's reads still lag behind the write.
    let table = create_lock_table(&endpoint, true)
        .await
        .expect("moto creates the lease table");
    let lagging = sandbox(shared_requests).await;
    lagging
        .emulator
        .set_read_lag(Some((READ_LAG, wall.clone())));
    let env = [
        NO_LIMIT,
        ("WRAPUP_LOCK_TABLE", table.as_str()),
        ("AWS_ENDPOINT_URL_DYNAMODB", endpoint.as_str()),
    ];
    let first = lagging.app(&env, wall.clone()).await.expect("app");
    let second = lagging.app(&env, wall.clone()).await.expect("app");
    let (run, again) =
        redelivered_after_applied(&lagging, [&first, &second], &stepped, shared_requests).await;
    report(
        &lagging,
        shared_requests,
        "Each request delivered again right after it was applied, to another instance, while reads lag:",
        run,
    );
    println!(
        "| redeliveries of applied requests | {} |",
        again.redeliveries
    );
    println!("| Genesys requests for them | {} |", again.genesys_requests);
    println!("| answered from the lease table | {} |", again.remembered);
    assert_eq!(
        again.genesys_requests, 0,
        "a remembered redelivery called Genesys"
    );
    assert_eq!(again.remembered, again.redeliveries);
}

/// How long the emulator's reads lag behind a write in the redelivery pass (by the stepped
/// clock: a redelivery in the same round reads the state from before the write).
const READ_LAG: Duration = Duration::from_secs(10);

/// What the redeliveries of applied requests cost.
struct Again {
    redeliveries: usize,
    genesys_requests: usize,
    remembered: usize,
}

/// Each batch to one instance; the messages it applied go at once (reads lagging) to the other,
/// which must answer them all from the lease table; failed ones come back in a later round.
async fn redelivered_after_applied(
    sandbox: &Sandbox,
    [first, second]: [&App; 2],
    clock: &SteppedClock,
    requests: u32,
) -> (Run, Again) {
    let mut pending = messages(requests);
    let mut latencies = Vec::new();
    let mut redeliveries = 0usize;
    let mut again = Again {
        redeliveries: 0,
        genesys_requests: 0,
        remembered: 0,
    };
    let started = Instant::now();
    while !pending.is_empty() {
        let take = pending.len().min(BATCH);
        let batch: Vec<_> = pending.drain(..take).collect();
        let t0 = Instant::now();
        let failed = deliver(first, clock, &batch).await;
        latencies.push(t0.elapsed());
        let (failed, applied): (Vec<_>, Vec<_>) = batch
            .into_iter()
            .partition(|(id, _, _)| failed.contains(id));
        again.redeliveries += applied.len();
        // Redelivered until answered, as SQS would (the lease table may time out under load:
        // a retry, never a Genesys call).
        let mut redeliver = applied;
        for _ in 0..10 {
            if redeliver.is_empty() {
                break;
            }
            let before = sandbox.emulator.requests().len();
            let failed = deliver(second, clock, &redeliver).await;
            again.genesys_requests += sandbox.emulator.requests().len() - before;
            again.remembered += redeliver.len() - failed.len();
            redeliver.retain(|(id, _, _)| failed.contains(id));
        }
        assert!(
            redeliver.is_empty(),
            "redeliveries never answered: {redeliver:?}"
        );
        for (id, body, receives) in failed {
            redeliveries += 1;
            assert!(receives < 50, "{id} never succeeded");
            pending.push_back((id, body, receives + 1));
        }
        // Before a failed message comes back: a held lease ends, reads catch up.
        clock.step(Duration::from_secs(31));
    }
    (
        Run {
            invocations: latencies.len(),
            redeliveries,
            elapsed: started.elapsed(),
            latencies,
        },
        again,
    )
}
