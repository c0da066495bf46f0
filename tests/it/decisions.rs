//! The pure decisions on what Genesys returned, through `genesys_wrapup::decide`: who takes the
//! wrap-up (target), whether the agent's part has ended, which code a name means and whether
//! its division fits, and whether to write at all (already applied, overwrite).

use genesys_wrapup::decide::*;
use genesys_wrapup::{CodeRef, Overwrite, Reason, Wanted};

const CONV: &str = "9e9b3a8c-55b0-4c47-8f3a-3a9f1c0e7d21";
const AGENT1: &str = "11111111-1111-4111-8111-111111111111";
const AGENT2: &str = "22222222-2222-4222-8222-222222222222";
const CUSTOMER: &str = "33333333-3333-4333-8333-333333333333";
const COMM_A: &str = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa";
const COMM_B: &str = "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb";
const CODE: &str = "0b1f7f4e-1c1d-4a8e-9f55-2f6b7f3d2c10";

fn comm(id: &str, connected: &str, acw: Option<&str>) -> Communication {
    Communication {
        id: id.into(),
        connected_time: Some(connected.into()),
        after_call_work: acw.map(|s| AfterCallWork {
            state: Some(s.into()),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn agent(id: &str, start: &str, calls: Vec<Communication>) -> Participant {
    Participant {
        id: id.into(),
        purpose: Some("agent".into()),
        user_id: Some("user-1".into()),
        start_time: Some(start.into()),
        calls,
        ..Default::default()
    }
}

fn conversation(participants: Vec<Participant>) -> Conversation {
    Conversation {
        id: CONV.into(),
        end_time: Some("2026-01-01T10:10:00.000Z".into()),
        participants,
        divisions: vec![DivisionMembership {
            division: Some(EntityRef {
                id: Some("div-a".into()),
                name: Some("Sales".into()),
            }),
        }],
        ..Default::default()
    }
}

fn request(notes: Option<&str>, tags: Option<Vec<&str>>) -> Wanted {
    Wanted {
        code: CodeRef::Id(CODE.parse().unwrap()),
        notes: notes.map(Into::into),
        tags: tags.map(|t| t.into_iter().map(Into::into).collect()),
        overwrite: Overwrite::Always,
    }
}

fn applied(t: &Target, want: &Wanted) -> bool {
    is_already_applied(t, CODE.parse().unwrap(), want)
}

#[test]
fn ended_means_end_time_is_set() {
    let mut c = conversation(vec![]);
    assert!(is_ended(&c));
    c.end_time = None;
    assert!(!is_ended(&c));
    c.end_time = Some(" ".into());
    assert!(!is_ended(&c));
}

#[test]
fn the_latest_agent_after_a_transfer_is_chosen() {
    let c = conversation(vec![
        Participant {
            id: CUSTOMER.into(),
            purpose: Some("customer".into()),
            start_time: Some("2026-01-01T10:00:00Z".into()),
            calls: vec![comm(COMM_A, "2026-01-01T10:00:00Z", None)],
            ..Default::default()
        },
        agent(
            AGENT2,
            "2026-01-01T10:05:00Z",
            vec![comm(COMM_B, "2026-01-01T10:05:00Z", None)],
        ),
        agent(
            AGENT1,
            "2026-01-01T10:01:00Z",
            vec![comm(COMM_A, "2026-01-01T10:01:00Z", None)],
        ),
    ]);
    let t = select_target(&c, None, None).unwrap();
    assert_eq!(t.participant_id.to_string(), AGENT2);
    assert_eq!(t.communication_id.to_string(), COMM_B);
    assert_eq!(t.media, MediaKind::Call);
}

#[test]
fn agents_without_a_user_or_communication_are_not_candidates() {
    let mut no_user = agent(
        AGENT2,
        "2026-01-01T10:05:00Z",
        vec![comm(COMM_B, "2026-01-01T10:05:00Z", None)],
    );
    no_user.user_id = None;
    let no_comm = agent(AGENT1, "2026-01-01T10:06:00Z", vec![]);
    let c = conversation(vec![no_user, no_comm]);
    assert_eq!(
        select_target(&c, None, None).unwrap_err().reason,
        Reason::NoAgentParticipant
    );
}

#[test]
fn the_communication_with_after_call_work_wins_before_and_after_the_write() {
    // A's after-call work state against a later B with none: whose communication is chosen.
    let chosen = |acw_a: Option<&str>| {
        let c = conversation(vec![agent(
            AGENT1,
            "2026-01-01T10:00:00Z",
            vec![
                comm(COMM_A, "2026-01-01T10:00:00Z", acw_a),
                comm(COMM_B, "2026-01-01T10:03:00Z", None),
            ],
        )]);
        select_target(&c, None, None)
            .unwrap()
            .communication_id
            .to_string()
    };
    assert_eq!(chosen(Some("pending")), COMM_A);
    // Our write ends after-call work: a retry must still pick the same communication.
    assert_eq!(chosen(Some("complete")), COMM_A);
    assert_eq!(chosen(None), COMM_B, "else the latest");
}

#[test]
fn media_arrays_map_to_endpoint_segments() {
    let mut p = agent(AGENT1, "2026-01-01T10:00:00Z", vec![]);
    p.social_expressions = vec![comm(COMM_A, "2026-01-01T10:00:00Z", None)];
    let t = select_target(&conversation(vec![p]), None, None).unwrap();
    assert_eq!(t.media.path_segment(), "socials");
}

#[test]
fn deprecated_media_is_a_clear_rejection() {
    let mut p = agent(AGENT1, "2026-01-01T10:00:00Z", vec![]);
    p.chats = vec![comm(COMM_A, "2026-01-01T10:00:00Z", None)];
    let e = select_target(&conversation(vec![p]), None, None).unwrap_err();
    assert_eq!(e.reason, Reason::NoAgentParticipant);
    assert!(e.message.contains("chats") && e.message.contains("deprecated"));
}

#[test]
fn a_requested_participant_must_be_an_agent_of_this_conversation() {
    let customer = Participant {
        id: CUSTOMER.into(),
        purpose: Some("customer".into()),
        calls: vec![comm(COMM_A, "2026-01-01T10:00:00Z", None)],
        ..Default::default()
    };
    let c = conversation(vec![
        customer,
        agent(
            AGENT1,
            "2026-01-01T10:00:00Z",
            vec![comm(COMM_B, "2026-01-01T10:00:00Z", None)],
        ),
    ]);
    let e = select_target(&c, Some(CUSTOMER.parse().unwrap()), None).unwrap_err();
    assert!(e.message.contains("customer"));
    let e = select_target(&c, Some(AGENT2.parse().unwrap()), None).unwrap_err();
    assert!(e.message.contains("not part of"));
    let t = select_target(&c, Some(AGENT1.to_uppercase().parse().unwrap()), None).unwrap();
    assert_eq!(t.participant_id.to_string(), AGENT1);
}

fn code(division: Option<&str>) -> WrapupCode {
    WrapupCode {
        id: CODE.into(),
        name: Some("Sale".into()),
        division: division.map(|d| EntityRef {
            id: Some(d.into()),
            name: Some("Other".into()),
        }),
    }
}

#[test]
fn division_rules() {
    let c = conversation(vec![]);
    assert!(check_division(&c, &code(None)).is_ok());
    assert!(check_division(&c, &code(Some("*"))).is_ok());
    assert!(check_division(&c, &code(Some("div-a"))).is_ok());
    let e = check_division(&c, &code(Some("div-b"))).unwrap_err();
    assert_eq!(e.reason, Reason::DivisionMismatch);
    assert!(
        e.message.contains("div-b") && e.message.contains("div-a"),
        "{}",
        e.message
    );
}

fn target_with(current: Option<Wrapup>) -> Target {
    Target {
        participant_id: AGENT1.parse().unwrap(),
        communication_id: COMM_A.parse().unwrap(),
        media: MediaKind::Call,
        current,
        acw_pending: false,
        user_id: None,
        queue_id: None,
        attributes: Default::default(),
    }
}

#[test]
fn already_applied_needs_the_same_final_code_and_matching_extras() {
    let current = Wrapup {
        code: Some(CODE.to_uppercase()),
        notes: Some("n".into()),
        tags: Some(vec!["b".into(), "a".into()]),
        ..Default::default()
    };
    let t = target_with(Some(current.clone()));
    assert!(applied(&t, &request(None, None)));
    assert!(applied(&t, &request(Some("n"), Some(vec!["a", "b"]))));
    assert!(!applied(&t, &request(Some("other"), None)));
    assert!(!applied(&t, &request(None, Some(vec!["a"]))));
    let provisional = Wrapup {
        provisional: Some(true),
        ..current.clone()
    };
    assert!(!applied(
        &target_with(Some(provisional)),
        &request(None, None)
    ));
    let system = Wrapup {
        code: Some("ININ-WRAP-UP-TIMEOUT".into()),
        ..Default::default()
    };
    assert!(!applied(&target_with(Some(system)), &request(None, None)));
    assert!(!applied(&target_with(None), &request(None, None)));
}

fn live(id: &str, connected: &str) -> Communication {
    Communication {
        state: Some("connected".into()),
        ..comm(id, connected, None)
    }
}

fn ended(id: &str, connected: &str, acw: Option<&str>) -> Communication {
    Communication {
        state: Some("disconnected".into()),
        disconnected_time: Some("2026-01-01T10:09:00Z".into()),
        ..comm(id, connected, acw)
    }
}

/// Who takes the code when no participant is named.
fn target_of(c: &Conversation) -> String {
    select_target(c, None, None)
        .unwrap()
        .participant_id
        .to_string()
}

/// The first agent, whose call has ended: in after-call work.
fn agent_in_acw() -> Participant {
    agent(
        AGENT1,
        "2026-01-01T10:01:00Z",
        vec![ended(COMM_A, "2026-01-01T10:01:00Z", Some("pending"))],
    )
}

fn customer(calls: Vec<Communication>) -> Participant {
    Participant {
        id: CUSTOMER.into(),
        purpose: Some("customer".into()),
        calls,
        ..Default::default()
    }
}

fn active(participants: Vec<Participant>) -> Conversation {
    Conversation {
        end_time: None,
        ..conversation(participants)
    }
}

fn unended(c: &Conversation, named: Option<&str>) -> Option<String> {
    let named = named.map(|n| n.parse().unwrap());
    let t = select_target(c, named, None).unwrap();
    unended_leg(c, &t, named.is_some())
}

#[test]
fn an_agent_in_after_call_work_has_ended_their_part_while_the_customer_is_connected() {
    let c = active(vec![
        customer(vec![live(COMM_A, "2026-01-01T10:00:00Z")]),
        agent(
            AGENT1,
            "2026-01-01T10:01:00Z",
            vec![ended(COMM_B, "2026-01-01T10:01:00Z", Some("pending"))],
        ),
    ]);
    assert_eq!(unended(&c, None), None);
    assert_eq!(unended(&c, Some(AGENT1)), None);
}

#[test]
fn a_connected_agent_has_not_ended_and_the_message_names_the_leg() {
    let c = active(vec![agent(
        AGENT1,
        "2026-01-01T10:01:00Z",
        vec![live(COMM_B, "2026-01-01T10:01:00Z")],
    )]);
    let why = unended(&c, None).unwrap();
    assert!(
        why.contains(AGENT1) && why.contains(COMM_B) && why.contains("connected"),
        "{why}"
    );
    // The conversation's own endTime is always enough.
    let mut c = c;
    c.end_time = Some("2026-01-01T10:10:00Z".into());
    assert_eq!(unended(&c, None), None);
    // So is the participant's.
    c.end_time = None;
    c.participants[0].end_time = Some("2026-01-01T10:10:00Z".into());
    assert_eq!(unended(&c, None), None);
}

#[test]
fn after_a_transfer_the_earlier_agent_waits_for_the_later_one() {
    let mut c = active(vec![
        agent_in_acw(),
        agent(
            AGENT2,
            "2026-01-01T10:05:00Z",
            vec![live(COMM_B, "2026-01-01T10:05:00Z")],
        ),
    ]);
    // The latest agent is the target, and is still live: retry.
    assert_eq!(target_of(&c), AGENT2);
    assert!(unended(&c, None).unwrap().contains(AGENT2));
    // Named, A's own part has ended.
    assert_eq!(unended(&c, Some(AGENT1)), None);
    // B ends: B.
    c.participants[1].calls = vec![ended(COMM_B, "2026-01-01T10:05:00Z", Some("pending"))];
    assert_eq!(unended(&c, None), None);
    assert_eq!(target_of(&c), AGENT2);
}

#[test]
fn an_acd_leg_still_waiting_means_not_ended_and_a_callback_needs_every_communication_ended() {
    let queue = Participant {
        id: "44444444-4444-4444-8444-444444444444".into(),
        purpose: Some("acd".into()),
        calls: vec![live(
            "cccccccc-cccc-4ccc-8ccc-cccccccccccc",
            "2026-01-01T10:06:00Z",
        )],
        ..Default::default()
    };
    let c = active(vec![agent_in_acw(), queue]);
    assert!(unended(&c, None).unwrap().contains("acd"));
    let mut callback = agent(AGENT1, "2026-01-01T10:01:00Z", vec![]);
    callback.callbacks = vec![ended(COMM_A, "2026-01-01T10:01:00Z", Some("pending"))];
    callback.calls = vec![live(COMM_B, "2026-01-01T10:02:00Z")];
    let c = active(vec![callback]);
    assert!(unended(&c, Some(AGENT1)).unwrap().contains(COMM_B));
}

#[test]
fn supervisors_are_never_chosen_and_naming_one_is_refused() {
    let mut monitor = agent(
        AGENT2,
        "2026-01-01T10:08:00Z",
        vec![ended(COMM_B, "2026-01-01T10:08:00Z", None)],
    );
    monitor.monitored_participant_id = Some(AGENT1.into());
    let c = conversation(vec![agent_in_acw(), monitor]);
    assert_eq!(target_of(&c), AGENT1);
    let e = select_target(&c, Some(AGENT2.parse().unwrap()), None).unwrap_err();
    assert_eq!(e.reason, Reason::NoAgentParticipant);
    assert!(
        e.message.contains("monitors") && e.message.contains(AGENT1),
        "{}",
        e.message
    );
    for field in ["coached", "barged"] {
        let mut c = c.clone();
        c.participants[1].monitored_participant_id = None;
        match field {
            "coached" => c.participants[1].coached_participant_id = Some(AGENT1.into()),
            _ => c.participants[1].barged_participant_id = Some(AGENT1.into()),
        }
        assert_eq!(target_of(&c), AGENT1);
    }
}

fn named_code(id: &str, name: &str, division: Option<&str>) -> WrapupCode {
    WrapupCode {
        id: id.into(),
        name: Some(name.into()),
        division: division.map(|d| EntityRef {
            id: Some(d.into()),
            name: None,
        }),
    }
}

#[test]
fn names_match_whole_ignoring_case_and_the_conversation_division_wins() {
    let c = conversation(vec![]);
    let codes = vec![
        named_code("1", "Sale", Some("div-b")),
        named_code("2", "Sale", Some("div-a")),
        named_code("3", "Sale", Some("*")),
        named_code("4", "Follow-up", None),
        named_code("5", "Follow-up", Some("div-a")),
        named_code("6", "Twice", Some("div-a")),
        named_code("7", "twice ", Some("div-a")),
        named_code("8", "Elsewhere", Some("div-b")),
        named_code("9", "Elsewhere", Some("div-c")),
        named_code("10", "Only there", Some("div-b")),
    ];
    let found = |name: &str| match codes_named(&codes, name, &c) {
        ByName::Found(code) => Some(code.id.clone()),
        _ => None,
    };
    assert_eq!(found(" sale ").as_deref(), Some("2"));
    assert_eq!(found("FOLLOW-UP").as_deref(), Some("5"));
    assert_eq!(found("Sal"), None, "never a prefix");
    assert_eq!(found("Sale*"), None, "never a wildcard");
    assert_eq!(codes_named(&codes, "nothing", &c), ByName::Missing);
    assert!(matches!(codes_named(&codes, "Twice", &c), ByName::Ambiguous(v) if v.len() == 2));
    assert!(matches!(codes_named(&codes, "Elsewhere", &c), ByName::Elsewhere(v) if v.len() == 2));
    // One code of that name in another division: found, and the division check refuses it.
    let only = found("Only there").unwrap();
    assert_eq!(only, "10");
    assert!(check_division(&c, &codes[9]).is_err());
    let all_divisions = vec![
        named_code("3", "Sale", Some("*")),
        named_code("1", "Sale", Some("div-b")),
    ];
    assert!(
        matches!(codes_named(&all_divisions, "sale", &c), ByName::Found(code) if code.id == "3")
    );
}

#[test]
fn overwrite_keeps_what_the_agent_chose_when_asked() {
    let with = |code: Option<&str>, pending: bool| Target {
        acw_pending: pending,
        ..target_with(code.map(|c| Wrapup {
            code: Some(c.into()),
            ..Default::default()
        }))
    };
    assert_eq!(
        keep_current(&with(Some(CODE), false), Overwrite::Always),
        Keep::No
    );
    assert!(matches!(
        keep_current(&with(Some(CODE), false), Overwrite::Never),
        Keep::Yes(_)
    ));
    assert_eq!(keep_current(&with(None, false), Overwrite::Never), Keep::No);
    assert_eq!(
        keep_current(
            &with(Some("ININ-WRAP-UP-TIMEOUT"), false),
            Overwrite::System
        ),
        Keep::No
    );
    assert!(matches!(
        keep_current(&with(Some(CODE), false), Overwrite::System),
        Keep::Yes(_)
    ));
    assert!(matches!(
        keep_current(&with(Some("ININ-WRAP-UP-TIMEOUT"), false), Overwrite::Never),
        Keep::Yes(_)
    ));
    for overwrite in [Overwrite::Never, Overwrite::System] {
        assert!(matches!(
            keep_current(&with(None, true), overwrite),
            Keep::NotYet(_)
        ));
    }
    assert_eq!(keep_current(&with(None, true), Overwrite::Always), Keep::No);
    let provisional = Target {
        current: Some(Wrapup {
            code: Some(CODE.into()),
            provisional: Some(true),
            ..Default::default()
        }),
        ..with(None, false)
    };
    assert_eq!(
        keep_current(&provisional, Overwrite::Never),
        Keep::No,
        "a provisional code is no choice"
    );
}
