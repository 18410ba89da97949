//! The lifecycle, tested from outside: every transition, every refusal, and random
//! action sequences whose timeline must always explain the state they end in.

use proptest::prelude::*;
use zhili_domain::codes::{InformChannel, RejectReason, Satisfaction};
use zhili_domain::{Action, ActionKind, Capacities, EventState, LifecycleError, OrgId, Status};

fn operator() -> Capacities {
    Capacities {
        operator: true,
        ..Default::default()
    }
}
fn lead() -> Capacities {
    Capacities {
        lead_unit: true,
        ..Default::default()
    }
}
fn everyone() -> Capacities {
    Capacities {
        operator: true,
        lead_unit: true,
        assisting_unit: true,
        reporter: true,
        supervisor: true,
    }
}

/// A valid sample of each action, with a dissatisfied rating so reopen is reachable.
fn sample(kind: ActionKind) -> Action {
    let s = |t: &str| t.to_string();
    match kind {
        ActionKind::Accept => Action::Accept { note: None },
        ActionKind::Reject => Action::Reject {
            reason: RejectReason::Duplicate,
            note: s("与 YY2026112800001 重复"),
        },
        ActionKind::Dispatch => Action::Dispatch {
            lead_unit: OrgId(10),
            assisting_units: vec![OrgId(11)],
            note: None,
        },
        ActionKind::Sign => Action::Sign { note: None },
        ActionKind::Return => Action::Return {
            reason: s("不属于本单位职责"),
        },
        ActionKind::Resolve => Action::Resolve {
            result: s("已现场处理"),
            photos: vec![],
        },
        ActionKind::VerifyPass => Action::VerifyPass { note: None },
        ActionKind::VerifyFail => Action::VerifyFail {
            reason: s("现场仍有噪音"),
        },
        ActionKind::Inform => Action::Inform {
            channel: InformChannel::Phone,
            note: None,
        },
        ActionKind::Rate => Action::Rate {
            satisfaction: Satisfaction::Dissatisfied,
            comment: None,
        },
        ActionKind::Reopen => Action::Reopen {
            reason: s("群众不满意"),
        },
        ActionKind::Close => Action::Close { note: None },
        ActionKind::RequestExtension => Action::RequestExtension {
            days: 3,
            reason: s("需协调多部门"),
        },
        ActionKind::ApproveExtension => Action::ApproveExtension { note: None },
        ActionKind::DenyExtension => Action::DenyExtension {
            reason: s("理由不充分"),
        },
        ActionKind::Suspend => Action::Suspend {
            reason: s("等待司法裁决"),
        },
        ActionKind::Resume => Action::Resume { note: None },
        ActionKind::Supervise => Action::Supervise {
            level: zhili_domain::supervision::SupervisionLevel::Listed,
            due_date: s("2026-12-10"),
            note: s("请加快办理"),
            leader: Some(s("张副主任")),
        },
        ActionKind::TransferTo110 => Action::TransferTo110 {
            reason: s("涉及打架斗殴，属警情"),
        },
        ActionKind::Escalate => Action::Escalate {
            reason: s("需市级部门协调"),
        },
    }
}

fn run(path: &[ActionKind]) -> EventState {
    let mut s = EventState::new();
    for k in path {
        s = s.apply(&everyone(), &sample(*k)).unwrap().state;
    }
    s
}

use ActionKind as A;

/// The oracle, written out by hand from the issue's lifecycle, independent of the code.
fn expected(state_name: &str) -> (&'static [ActionKind], Vec<(ActionKind, Status)>) {
    match state_name {
        "reported" => (
            &[],
            vec![
                (A::Accept, Status::Accepted),
                (A::Reject, Status::Rejected),
                (A::Supervise, Status::Reported),
                (A::Escalate, Status::Reported),
                (A::TransferTo110, Status::Transferred),
            ],
        ),
        "accepted" => (
            &[A::Accept],
            vec![
                (A::Dispatch, Status::Dispatched),
                (A::Suspend, Status::Suspended),
                (A::Supervise, Status::Accepted),
                (A::Escalate, Status::Accepted),
                (A::TransferTo110, Status::Transferred),
            ],
        ),
        "transferred" => (
            &[A::TransferTo110],
            vec![
                (A::Close, Status::Closed),
                (A::Supervise, Status::Transferred),
            ],
        ),
        "rejected" => (
            &[A::Reject],
            vec![(A::Close, Status::Closed), (A::Supervise, Status::Rejected)],
        ),
        "dispatched" => (
            &[A::Accept, A::Dispatch],
            vec![
                (A::Dispatch, Status::Dispatched),
                (A::Sign, Status::Handling),
                (A::Return, Status::Accepted),
                (A::Suspend, Status::Suspended),
                (A::Supervise, Status::Dispatched),
                (A::Escalate, Status::Dispatched),
            ],
        ),
        "handling" => (
            &[A::Accept, A::Dispatch, A::Sign],
            vec![
                (A::Return, Status::Accepted),
                (A::Resolve, Status::Resolved),
                (A::RequestExtension, Status::Handling),
                (A::Suspend, Status::Suspended),
                (A::Supervise, Status::Handling),
                (A::Escalate, Status::Handling),
            ],
        ),
        "handling+ext" => (
            &[A::Accept, A::Dispatch, A::Sign, A::RequestExtension],
            vec![
                (A::Return, Status::Accepted),
                (A::ApproveExtension, Status::Handling),
                (A::DenyExtension, Status::Handling),
                (A::Suspend, Status::Suspended),
                (A::Supervise, Status::Handling),
                (A::Escalate, Status::Handling),
            ],
        ),
        "resolved" => (
            &[A::Accept, A::Dispatch, A::Sign, A::Resolve],
            vec![
                (A::VerifyPass, Status::Verified),
                (A::VerifyFail, Status::Handling),
                (A::Supervise, Status::Resolved),
            ],
        ),
        "verified" => (
            &[A::Accept, A::Dispatch, A::Sign, A::Resolve, A::VerifyPass],
            vec![
                (A::Inform, Status::Informed),
                (A::Supervise, Status::Verified),
            ],
        ),
        "informed" => (
            &[
                A::Accept,
                A::Dispatch,
                A::Sign,
                A::Resolve,
                A::VerifyPass,
                A::Inform,
            ],
            vec![
                (A::Rate, Status::Rated),
                (A::Close, Status::Closed),
                (A::Supervise, Status::Informed),
            ],
        ),
        "rated-dissatisfied" => (
            &[
                A::Accept,
                A::Dispatch,
                A::Sign,
                A::Resolve,
                A::VerifyPass,
                A::Inform,
                A::Rate,
            ],
            vec![
                (A::Reopen, Status::Handling),
                (A::Close, Status::Closed),
                (A::Supervise, Status::Rated),
            ],
        ),
        "closed" => (
            &[
                A::Accept,
                A::Dispatch,
                A::Sign,
                A::Resolve,
                A::VerifyPass,
                A::Inform,
                A::Rate,
                A::Close,
            ],
            vec![],
        ),
        "suspended" => (
            &[A::Accept, A::Suspend],
            vec![
                (A::Resume, Status::Accepted),
                (A::Supervise, Status::Suspended),
                (A::Escalate, Status::Suspended),
            ],
        ),
        other => panic!("no such case {other}"),
    }
}

#[test]
fn every_action_in_every_state_is_taken_or_refused_as_the_rules_say() {
    for name in [
        "reported",
        "accepted",
        "rejected",
        "dispatched",
        "handling",
        "handling+ext",
        "resolved",
        "verified",
        "informed",
        "rated-dissatisfied",
        "closed",
        "suspended",
        "transferred",
    ] {
        let (path, allowed) = expected(name);
        let state = run(path);
        for kind in ActionKind::ALL {
            let result = state.apply(&everyone(), &sample(*kind));
            match allowed.iter().find(|(k, _)| k == kind) {
                Some((_, to)) => {
                    let out = result.unwrap_or_else(|e| panic!("{name}: {kind} refused: {e}"));
                    assert_eq!(out.to, *to, "{name}: {kind}");
                    assert_eq!(out.from, state.status);
                }
                None => match result {
                    Err(LifecycleError::NotAllowed {
                        status,
                        action,
                        allowed: listed,
                    }) => {
                        assert_eq!(status, state.status);
                        assert_eq!(action, *kind);
                        let mut want: Vec<_> = allowed.iter().map(|(k, _)| *k).collect();
                        want.sort_by_key(|k| k.code());
                        let mut got = listed.clone();
                        got.sort_by_key(|k| k.code());
                        assert_eq!(got, want, "{name}: allowed actions listed in the 409");
                    }
                    other => panic!("{name}: {kind} should be refused, got {other:?}"),
                },
            }
        }
    }
}

#[test]
fn the_refusal_names_state_and_allowed_actions_in_chinese() {
    // Resolving is a unit's action: for an operator it is forbidden, not a 409.
    assert_eq!(
        EventState::new().apply(&operator(), &sample(A::Resolve)),
        Err(LifecycleError::Forbidden { action: A::Resolve })
    );
    let err = EventState::new()
        .apply(&everyone(), &sample(A::Resolve))
        .unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("上报"), "{msg}");
    assert!(msg.contains("受理(accept)"), "{msg}");
}

#[test]
fn escalation_climbs_one_rung_at_a_time_and_stops_at_the_city() {
    let s = run(&[A::Accept]);
    assert_eq!(s.level, zhili_domain::Level::Township);
    let up = s.apply(&operator(), &sample(A::Escalate)).unwrap();
    assert_eq!(up.state.level, zhili_domain::Level::City);
    assert_eq!(up.to, Status::Accepted, "escalating keeps the status");
    assert!(matches!(
        up.state.apply(&operator(), &sample(A::Escalate)),
        Err(LifecycleError::NotAllowed { .. })
    ));
    assert_eq!(
        s.apply(&lead(), &sample(A::Escalate)),
        Err(LifecycleError::Forbidden {
            action: A::Escalate
        })
    );
}

#[test]
fn states_stored_before_the_ladder_read_as_township_level() {
    let old = r#"{"status":"accepted","lead_unit":null,"assisting_units":[],"suspended_from":null,"pending_extension":null,"extension_days":0,"satisfaction":null,"return_count":0,"rework_count":0}"#;
    let s: EventState = serde_json::from_str(old).unwrap();
    assert_eq!(s.level, zhili_domain::Level::Township);
    assert_eq!(s.suspended_days, 0);
}

#[test]
fn satisfied_reporters_cannot_reopen() {
    let mut s = run(&[
        A::Accept,
        A::Dispatch,
        A::Sign,
        A::Resolve,
        A::VerifyPass,
        A::Inform,
    ]);
    s = s
        .apply(
            &operator(),
            &Action::Rate {
                satisfaction: Satisfaction::Satisfied,
                comment: None,
            },
        )
        .unwrap()
        .state;
    assert!(!s.allowed_actions(&everyone()).contains(&A::Reopen));
    assert!(matches!(
        s.apply(&everyone(), &sample(A::Reopen)),
        Err(LifecycleError::NotAllowed { .. })
    ));
}

#[test]
fn roles_limit_actions() {
    let reported = EventState::new();
    // A unit handler cannot accept; an operator cannot sign for a unit.
    assert_eq!(
        reported.apply(&lead(), &sample(A::Accept)),
        Err(LifecycleError::Forbidden { action: A::Accept })
    );
    let dispatched = run(&[A::Accept, A::Dispatch]);
    assert_eq!(
        dispatched.apply(&operator(), &sample(A::Sign)),
        Err(LifecycleError::Forbidden { action: A::Sign })
    );
    assert!(dispatched.apply(&lead(), &sample(A::Sign)).is_ok());
    // Oversight (no capacity at all) can do nothing anywhere.
    assert!(
        dispatched
            .allowed_actions(&Capacities::default())
            .is_empty()
    );
    // A reporter may rate, nothing else.
    let informed = run(&[
        A::Accept,
        A::Dispatch,
        A::Sign,
        A::Resolve,
        A::VerifyPass,
        A::Inform,
    ]);
    let reporter = Capacities {
        reporter: true,
        ..Default::default()
    };
    assert_eq!(informed.allowed_actions(&reporter), vec![A::Rate]);
}

#[test]
fn return_clears_the_unit_and_counts() {
    let s = run(&[A::Accept, A::Dispatch, A::Return]);
    assert_eq!(s.status, Status::Accepted);
    assert_eq!(s.lead_unit, None);
    assert_eq!(s.return_count, 1);
}

#[test]
fn extension_and_suspension_keep_their_place() {
    let s = run(&[
        A::Accept,
        A::Dispatch,
        A::Sign,
        A::RequestExtension,
        A::ApproveExtension,
    ]);
    assert_eq!(s.extension_days, 3);
    assert!(s.pending_extension.is_none());
    let s = run(&[A::Accept, A::Dispatch, A::Sign, A::Suspend, A::Resume]);
    assert_eq!(s.status, Status::Handling);
}

#[test]
fn payloads_are_checked() {
    let accepted = run(&[A::Accept]);
    let same_unit = Action::Dispatch {
        lead_unit: OrgId(1),
        assisting_units: vec![OrgId(1)],
        note: None,
    };
    assert!(matches!(
        accepted.apply(&operator(), &same_unit),
        Err(LifecycleError::Invalid {
            field: "assisting_units",
            ..
        })
    ));
    let blank = Action::Reject {
        reason: RejectReason::Invalid,
        note: "  ".into(),
    };
    assert!(matches!(
        EventState::new().apply(&operator(), &blank),
        Err(LifecycleError::Invalid { field: "note", .. })
    ));
    let handling = run(&[A::Accept, A::Dispatch, A::Sign]);
    let too_long = Action::RequestExtension {
        days: 0,
        reason: "x".into(),
    };
    assert!(matches!(
        handling.apply(&lead(), &too_long),
        Err(LifecycleError::Invalid { field: "days", .. })
    ));
}

#[test]
fn every_action_is_named_in_json_by_its_code() {
    for kind in ActionKind::ALL {
        let json = serde_json::to_value(sample(*kind)).unwrap();
        assert_eq!(json["action"], kind.code(), "{kind:?}");
        let back: Action = serde_json::from_value(json).unwrap();
        assert_eq!(back.kind(), *kind);
    }
}

#[test]
fn actions_parse_from_api_json() {
    let a: Action = serde_json::from_str(
        r#"{"action":"dispatch","lead_unit":5,"assisting_units":[6],"note":"请尽快"}"#,
    )
    .unwrap();
    assert_eq!(a.kind(), A::Dispatch);
    assert!(serde_json::from_str::<Action>(r#"{"action":"accept","bogus":1}"#).is_err());
    assert!(serde_json::from_str::<Action>(r#"{"action":"fly"}"#).is_err());
}

#[test]
fn a_supervise_action_carries_its_order() {
    let a: Action = serde_json::from_str(
        r#"{"action":"supervise","level":"leader_owned","due_date":"2026-12-10","note":"请加快","leader":"张伟"}"#,
    )
    .unwrap();
    assert_eq!(a.kind(), A::Supervise);
    assert_eq!(a.note(), Some("请加快"));
    let accepted = run(&[A::Accept]);
    let out = accepted.apply(&operator(), &a).unwrap();
    // An order changes nothing about the event's own state.
    assert_eq!(out.state, accepted);
    // The level defaults to 督办; a leader-owned case without a leader is refused.
    let plain: Action =
        serde_json::from_str(r#"{"action":"supervise","due_date":"2026-12-10","note":"请加快"}"#)
            .unwrap();
    assert!(accepted.apply(&operator(), &plain).is_ok());
    let no_leader: Action = serde_json::from_str(
        r#"{"action":"supervise","level":"leader_owned","due_date":"2026-12-10","note":"请加快"}"#,
    )
    .unwrap();
    assert!(matches!(
        accepted.apply(&operator(), &no_leader),
        Err(LifecycleError::Invalid {
            field: "leader",
            ..
        })
    ));
    assert!(
        serde_json::from_str::<Action>(r#"{"action":"supervise","note":"请加快"}"#).is_err(),
        "the due date is required"
    );
    let bad_date: Action =
        serde_json::from_str(r#"{"action":"supervise","due_date":"下周一","note":"请加快"}"#)
            .unwrap();
    assert!(matches!(
        accepted.apply(&operator(), &bad_date),
        Err(LifecycleError::Invalid {
            field: "due_date",
            ..
        })
    ));
    assert!(matches!(
        accepted.apply(&lead(), &plain),
        Err(LifecycleError::Forbidden { .. })
    ));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Whatever anyone tries, in any order, the recorded timeline replays to the
    /// current state and every state reached keeps the invariants.
    #[test]
    fn random_sequences_keep_the_timeline_honest(
        steps in prop::collection::vec((0..ActionKind::ALL.len(), 0u8..32, 1u8..=5), 0..60)
    ) {
        let mut state = EventState::new();
        let mut timeline: Vec<(Status, Status)> = Vec::new();
        for (action_ix, who_bits, level) in steps {
            let who = Capacities {
                operator: who_bits & 1 != 0,
                lead_unit: who_bits & 2 != 0,
                assisting_unit: who_bits & 4 != 0,
                reporter: who_bits & 8 != 0,
                supervisor: who_bits & 16 != 0,
            };
            let mut action = sample(ActionKind::ALL[action_ix]);
            if let Action::Rate { satisfaction, .. } = &mut action {
                *satisfaction = Satisfaction::from_level(level).unwrap();
            }
            let allowed = state.allowed_actions(&who);
            match state.apply(&who, &action) {
                Ok(out) => {
                    prop_assert!(allowed.contains(&action.kind()));
                    prop_assert_eq!(out.from, state.status);
                    timeline.push((out.from, out.to));
                    state = out.state;
                }
                Err(_) => prop_assert!(!allowed.contains(&action.kind())),
            }
            prop_assert!(state.check_invariants().is_ok(), "{:?}", state.check_invariants());
        }
        // Replay: each entry starts where the previous one ended, from 上报 to now.
        let mut at = Status::Reported;
        for (from, to) in &timeline {
            prop_assert_eq!(*from, at);
            at = *to;
        }
        prop_assert_eq!(at, state.status);
    }
}
