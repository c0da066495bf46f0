//! The sandbox's demo org. The `events/` samples refer to these ids; the tests use them too.

use super::emulator::OrgData;
use serde_json::{json, Value};
use std::collections::HashMap;

/// The sandbox's secret ids (in memory).
pub const GENESYS_SECRET_ID: &str = "sandbox/genesys";
/// The webhook secret's id in the sandbox's Secrets Manager.
pub const WEBHOOK_SECRET_ID: &str = "sandbox/webhook";

/// The demo org (the `source` of the `events/` samples of Genesys events).
pub const ORG_ID: &str = "6d2b4a3c-1f0e-4b8a-9c7d-5e4f3a2b1c0d";
/// The demo org's OAuth client id.
pub const CLIENT_ID: &str = "sandbox-client";
/// The demo org's OAuth client secret (never in the deployed binary).
pub const CLIENT_SECRET: &str = "sandbox-client-secret-not-for-production";
/// The demo webhook signing key (never in the deployed binary).
pub const SIGNING_KEY: &str = "sandbox-signing-key-not-for-production";

/// The Sales division.
pub const DIVISION_SALES: &str = "d1d00000-0000-4000-8000-000000000001";
/// The Support division.
pub const DIVISION_SUPPORT: &str = "d1d00000-0000-4000-8000-000000000002";
/// The Sales queue.
pub const QUEUE_SALES: &str = "9ee00000-0000-4000-8000-000000000001";
/// The Service queue, whose agents' timed-out wrap-ups the sandbox's rules fill from Copilot.
pub const QUEUE_SERVICE: &str = "9ee00000-0000-4000-8000-000000000002";

/// "Sale completed", division Sales.
pub const CODE_SALE: &str = "c0de0000-0000-4000-8000-000000000001";
/// "Call back later", every division (`*`).
pub const CODE_CALLBACK: &str = "c0de0000-0000-4000-8000-000000000002";
/// "Support escalation", division Support only.
pub const CODE_SUPPORT: &str = "c0de0000-0000-4000-8000-000000000003";
/// "Sale completed" again, division Support: by name, a Sales conversation gets `CODE_SALE`.
pub const CODE_SALE_SUPPORT: &str = "c0de0000-0000-4000-8000-000000000004";
/// Two codes named "Escalated", both division Sales; the Sales queue offers only the first.
pub const CODE_ESCALATED: &str = "c0de0000-0000-4000-8000-000000000005";
/// The second "Escalated" code, which the Sales queue does not offer.
pub const CODE_ESCALATED_TWIN: &str = "c0de0000-0000-4000-8000-000000000006";
/// "Follow-up" for every division, and "Follow-up" in division Sales (which wins there).
pub const CODE_FOLLOW_UP_ALL: &str = "c0de0000-0000-4000-8000-000000000007";
/// "Follow-up" in division Sales.
pub const CODE_FOLLOW_UP_SALES: &str = "c0de0000-0000-4000-8000-000000000008";

/// Ended voice call, agent in after-call work: `events/eventbridge-custom.json`.
pub const CONV_CALL: &str = "c0000000-0000-4000-8000-000000000001";
/// Ended web message: `events/webhook-function-url.json`.
pub const CONV_MESSAGE: &str = "c0000000-0000-4000-8000-000000000002";
/// Ended email: `events/webhook-http-api.json`.
pub const CONV_EMAIL: &str = "c0000000-0000-4000-8000-000000000003";
/// Voice call still in progress.
pub const CONV_ACTIVE: &str = "c0000000-0000-4000-8000-000000000004";
/// Ended call that already carries `CODE_SALE`.
pub const CONV_WRAPPED: &str = "c0000000-0000-4000-8000-000000000005";
/// Ended call transferred from one agent to another.
pub const CONV_TRANSFER: &str = "c0000000-0000-4000-8000-000000000006";
/// Ended call abandoned in queue: no agent ever joined.
pub const CONV_ABANDONED: &str = "c0000000-0000-4000-8000-000000000007";
/// Ended direct call.
pub const CONV_DIRECT: &str = "c0000000-0000-4000-8000-000000000008";
/// Ended Sales-queue call, agent in after-call work: `events/genesys-user-end-skipped.json`.
pub const CONV_NATIVE: &str = "c0000000-0000-4000-8000-000000000009";
/// Agent in after-call work while the customer is still connected (a survey flow): the
/// conversation has no `endTime`, the agent's part has ended.
pub const CONV_SURVEY: &str = "c0000000-0000-4000-8000-000000000010";
/// Transferred: the first agent in after-call work, the second still connected.
pub const CONV_TRANSFER_LIVE: &str = "c0000000-0000-4000-8000-000000000011";
/// Ended call on which a supervisor, who joined later, monitored the agent.
pub const CONV_MONITORED: &str = "c0000000-0000-4000-8000-000000000012";
/// Ended Sales-queue call whose agent finished after-call work without a code:
/// `events/genesys-acw.json`.
pub const CONV_ACW_DONE: &str = "c0000000-0000-4000-8000-000000000013";
/// Ended Service-queue call transferred between two agents: the first chose "Call back later",
/// the second's after-call work timed out (`ININ-WRAP-UP-TIMEOUT`). Copilot's summary of the
/// second agent's communication predicts "Support escalation" (Support division: not this
/// conversation's), "Sale completed" and "Call back later"; the first agent's predicts
/// "Follow-up": `events/genesys-acw-timeout-predicted.json`.
pub const CONV_ACW_TIMEOUT: &str = "c0000000-0000-4000-8000-000000000014";

/// Conversation `n`'s id: `c0000000-0000-4000-8000-<n, 12 digits>`.
pub fn conversation_id(n: u32) -> String {
    format!("c0000000-0000-4000-8000-{n:012}")
}

/// Participant and communication ids follow the conversation's number: participant `k` = 1 is
/// the customer, 2 the first agent, 3 the second; `e…` the same for their communications.
pub fn participant(conversation: u32, k: u8) -> String {
    format!("a000000{k}-0000-4000-8000-{conversation:012}")
}

/// Conversation `n`'s communication `k`.
pub fn communication(conversation: u32, k: u8) -> String {
    format!("e000000{k}-0000-4000-8000-{conversation:012}")
}

/// The agent's user.
pub const AGENT_USER: &str = "05e70000-0000-4000-8000-000000000001";
/// A supervisor's user.
pub const SUPERVISOR_USER: &str = "05e70000-0000-4000-8000-000000000003";
/// A second agent's user (transfers).
pub const SECOND_AGENT_USER: &str = "05e70000-0000-4000-8000-000000000002";

fn time(minute: u32) -> String {
    format!("2026-11-25T09:{minute:02}:00.000Z")
}

fn communication_json(id: &str, from: u32, to: Option<u32>, acw: Option<&str>) -> Value {
    json!({
        "state": if to.is_some() { "disconnected" } else { "connected" },
        "initialState": "alerting",
        "id": id,
        "direction": "inbound",
        "held": false,
        "disconnectType": to.map(|_| "peer"),
        "startAlertingTime": time(from),
        "connectedTime": time(from),
        "disconnectedTime": to.map(time),
        "provider": "Edge",
        "afterCallWork": acw.map(|state| json!({"state": state, "startTime": to.map(time)})),
        "afterCallWorkRequired": acw.is_some(),
    })
}

struct Agent {
    user: &'static str,
    from: u32,
    to: Option<u32>,
    acw: Option<&'static str>,
    wrapup: Option<Value>,
}

fn conversation(
    n: u32,
    media: &str,
    ended_at: Option<u32>,
    agents: &[Agent],
    purpose: &str,
) -> Value {
    let id = conversation_id(n);
    let mut participants = vec![json!({
        "id": participant(n, 1),
        "startTime": time(0),
        "endTime": ended_at.map(time),
        "purpose": "customer",
        "participantType": "External",
        "address": "tel:+35312345678",
        "ani": "tel:+35312345678",
        "wrapupRequired": false,
        "attributes": {"crmCaseId": "CASE-1001"},
        media: [communication_json(&communication(n, 1), 0, ended_at, None)],
    })];
    for (i, agent) in agents.iter().enumerate() {
        let k = u8::try_from(i).unwrap_or(0) + 2;
        let mut comm = communication_json(&communication(n, k), agent.from, agent.to, agent.acw);
        if let Some(w) = &agent.wrapup {
            comm["wrapup"] = w.clone();
        }
        participants.push(json!({
            "id": participant(n, k),
            "startTime": time(agent.from),
            "endTime": agent.to.map(time),
            "connectedTime": time(agent.from),
            "name": "Demo Agent",
            "userId": agent.user,
            "queueId": QUEUE_SALES,
            "queueName": "Sales",
            "purpose": purpose,
            "participantType": "Internal",
            "wrapupRequired": true,
            "wrapupTimeoutMs": 60000,
            "wrapup": agent.wrapup,
            "startAcwTime": agent.to.map(time),
            "attributes": {},
            media: [comm],
        }));
    }
    json!({
        "id": id,
        "startTime": time(0),
        "endTime": ended_at.map(time),
        "participants": participants,
        "recordingState": "NONE",
        "divisions": [{
            "division": {"id": DIVISION_SALES, "selfUri": format!("/api/v2/authorization/divisions/{DIVISION_SALES}")},
            "entities": [{"id": QUEUE_SALES, "selfUri": format!("/api/v2/routing/queues/{QUEUE_SALES}")}]
        }],
        "selfUri": format!("/api/v2/conversations/{id}"),
    })
}

fn code(id: &str, name: &str, division: Option<(&str, &str)>) -> Value {
    let division = match division {
        Some((id, name)) => {
            json!({"id": id, "name": name, "selfUri": format!("/api/v2/authorization/divisions/{id}")})
        }
        None => json!({"id": "*", "name": "*"}),
    };
    json!({
        "id": id, "name": name, "division": division,
        "dateCreated": "2026-01-01T00:00:00Z", "createdBy": AGENT_USER,
        "selfUri": format!("/api/v2/routing/wrapupcodes/{id}")
    })
}

/// An ended voice call with one agent in after-call work: the shape of most real traffic
/// (benches create thousands of them).
pub fn ended_call(n: u32) -> Value {
    let agent = Agent {
        user: AGENT_USER,
        from: 1,
        to: Some(7),
        acw: Some("pending"),
        wrapup: None,
    };
    conversation(n, "calls", Some(7), &[agent], "agent")
}

/// The demo org: its client, codes, queues and every `CONV_*` conversation.
pub fn org() -> OrgData {
    let agent = |from, to, acw| Agent {
        user: AGENT_USER,
        from,
        to,
        acw,
        wrapup: None,
    };
    let wrapped = json!({"code": CODE_SALE, "name": "Sale completed", "provisional": false});
    let conversations = [
        conversation(
            1,
            "calls",
            Some(7),
            &[agent(1, Some(7), Some("pending"))],
            "agent",
        ),
        conversation(
            2,
            "messages",
            Some(12),
            &[agent(2, Some(12), Some("pending"))],
            "agent",
        ),
        conversation(
            3,
            "emails",
            Some(30),
            &[agent(5, Some(30), Some("pending"))],
            "agent",
        ),
        conversation(4, "calls", None, &[agent(1, None, None)], "agent"),
        conversation(
            5,
            "calls",
            Some(9),
            &[Agent {
                wrapup: Some(wrapped),
                ..agent(1, Some(9), Some("complete"))
            }],
            "agent",
        ),
        conversation(
            6,
            "calls",
            Some(20),
            &[
                agent(1, Some(10), Some("complete")),
                Agent {
                    user: SECOND_AGENT_USER,
                    ..agent(10, Some(20), Some("pending"))
                },
            ],
            "agent",
        ),
        conversation(7, "calls", Some(3), &[], "agent"),
        conversation(8, "calls", Some(4), &[agent(0, Some(4), None)], "user"),
        ended_call(9),
        customer_still_connected(conversation(
            10,
            "calls",
            Some(7),
            &[agent(1, Some(7), Some("pending"))],
            "agent",
        )),
        conversation(
            11,
            "calls",
            None,
            &[
                agent(1, Some(10), Some("pending")),
                Agent {
                    user: SECOND_AGENT_USER,
                    ..agent(10, None, None)
                },
            ],
            "agent",
        ),
        monitored(conversation(
            12,
            "calls",
            Some(7),
            &[
                agent(1, Some(7), Some("pending")),
                Agent {
                    user: SUPERVISOR_USER,
                    ..agent(3, Some(7), None)
                },
            ],
            "agent",
        )),
        conversation(
            13,
            "calls",
            Some(7),
            &[agent(1, Some(7), Some("complete"))],
            "agent",
        ),
        service_queue(conversation(
            14,
            "calls",
            Some(12),
            &[
                Agent {
                    wrapup: Some(
                        json!({"code": CODE_CALLBACK, "name": "Call back later", "provisional": false}),
                    ),
                    ..agent(1, Some(6), Some("complete"))
                },
                Agent {
                    user: SECOND_AGENT_USER,
                    wrapup: Some(
                        json!({"code": "ININ-WRAP-UP-TIMEOUT", "name": "ININ-WRAP-UP-TIMEOUT", "provisional": false}),
                    ),
                    ..agent(6, Some(12), Some("complete"))
                },
            ],
            "agent",
        )),
    ];
    let sales = Some((DIVISION_SALES, "Sales"));
    let support = Some((DIVISION_SUPPORT, "Support"));
    let codes = [
        code(CODE_SALE, "Sale completed", sales),
        code(CODE_CALLBACK, "Call back later", None),
        code(CODE_SUPPORT, "Support escalation", support),
        code(CODE_SALE_SUPPORT, "Sale completed", support),
        code(CODE_ESCALATED, "Escalated", sales),
        code(CODE_ESCALATED_TWIN, "Escalated", sales),
        code(CODE_FOLLOW_UP_ALL, "Follow-up", None),
        code(CODE_FOLLOW_UP_SALES, "Follow-up", sales),
    ];
    let sales_queue_codes = [
        CODE_SALE,
        CODE_CALLBACK,
        CODE_ESCALATED,
        CODE_FOLLOW_UP_SALES,
    ];
    OrgData {
        org_id: ORG_ID.to_owned(),
        org_name: "Sandbox Demo Org".to_owned(),
        client_id: CLIENT_ID.to_owned(),
        client_secret: CLIENT_SECRET.to_owned(),
        conversations: key_by_id(conversations),
        wrapup_codes: key_by_id(codes),
        queue_codes: HashMap::from([
            (
                QUEUE_SALES.to_owned(),
                sales_queue_codes.map(str::to_owned).to_vec(),
            ),
            (
                QUEUE_SERVICE.to_owned(),
                [CODE_SALE, CODE_CALLBACK, CODE_FOLLOW_UP_ALL]
                    .map(str::to_owned)
                    .to_vec(),
            ),
        ]),
        summaries: HashMap::from([
            (
                CONV_ACW_DONE.to_owned(),
                summaries(
                    13,
                    &[(
                        2,
                        &[
                            (CODE_SALE, "Sale completed", 0.88),
                            (CODE_CALLBACK, "Call back later", 0.31),
                        ],
                    )],
                ),
            ),
            (
                CONV_ACW_TIMEOUT.to_owned(),
                summaries(
                    14,
                    &[
                        (2, &[(CODE_FOLLOW_UP_ALL, "Follow-up", 0.97)]),
                        (
                            3,
                            &[
                                (CODE_SUPPORT, "Support escalation", 0.91),
                                (CODE_SALE, "Sale completed", 0.82),
                                (CODE_CALLBACK, "Call back later", 0.35),
                            ],
                        ),
                    ],
                ),
            ),
        ]),
        copilot_predicts_codes: Some(true),
    }
}

/// A code Copilot predicts: its id, name and confidence.
pub type Prediction<'a> = (&'a str, &'a str, f64);

/// Copilot's completed summaries of conversation `n`: per agent participant `k`, the codes it
/// predicts for that agent's communication, with their confidence.
pub fn summaries(n: u32, sessions: &[(u8, &[Prediction<'_>])]) -> Value {
    let sessions: Vec<Value> = sessions
        .iter()
        .map(|(k, predicted)| {
            let codes: Vec<Value> = predicted
                .iter()
                .map(|(id, name, confidence)| {
                    json!({"id": id, "name": name, "confidence": confidence,
                           "selfUri": format!("/api/v2/routing/wrapupcodes/{id}")})
                })
                .collect();
            json!({
                "id": format!("5e550000-0000-4000-8000-{:010}{k:02}", n),
                "text": "The customer asked about an order; the agent explained the next steps.",
                "status": "Completed", "mediaType": "Call", "language": "en-us",
                "confidence": 0.9, "dateCreated": time(12),
                "communication": {"id": communication(n, *k)},
                "participants": [{"id": participant(n, *k)}],
                "predictedWrapupCodes": codes,
            })
        })
        .collect();
    json!({
        "conversation": {"id": conversation_id(n), "selfUri": format!("/api/v2/conversations/{}", conversation_id(n))},
        "sessionSummaries": sessions,
    })
}

/// The agents came through the Service queue.
fn service_queue(mut conversation: Value) -> Value {
    if let Some(participants) = conversation["participants"].as_array_mut() {
        for p in participants.iter_mut().skip(1) {
            p["queueId"] = json!(QUEUE_SERVICE);
            p["queueName"] = json!("Service");
        }
    }
    conversation
}

/// The customer's leg goes on (a survey flow): neither the conversation nor the customer has
/// ended, though the agent has.
fn customer_still_connected(mut conversation: Value) -> Value {
    conversation["endTime"] = Value::Null;
    let customer = &mut conversation["participants"][0];
    customer["endTime"] = Value::Null;
    customer["calls"][0]["state"] = json!("connected");
    customer["calls"][0]["disconnectedTime"] = Value::Null;
    customer["calls"][0]["disconnectType"] = Value::Null;
    conversation
}

/// The second agent participant is a supervisor monitoring the first, as Genesys shows one.
fn monitored(mut conversation: Value) -> Value {
    let agent = conversation["participants"][1]["id"].clone();
    let supervisor = &mut conversation["participants"][2];
    supervisor["monitoredParticipantId"] = agent;
    supervisor["wrapupRequired"] = json!(false);
    supervisor["queueId"] = Value::Null;
    supervisor["queueName"] = Value::Null;
    supervisor["name"] = json!("Demo Supervisor");
    supervisor["startAcwTime"] = Value::Null;
    conversation
}

fn key_by_id(values: impl IntoIterator<Item = Value>) -> HashMap<String, Value> {
    values
        .into_iter()
        .map(|v| (v["id"].as_str().unwrap_or_default().to_owned(), v))
        .collect()
}
