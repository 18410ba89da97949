//! A reporter's rights over their own data (PIPL Art. 44–47, SECURITY.md PI-08, IA-11):
//! to see and copy what the system holds about them, and to ask for it to be
//! corrected or deleted. A reporter has no account: they prove the phone they gave
//! with a one-time code sent to it by SMS. The rules of those codes and of the
//! requests live here; storage keeps them and the command room decides.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::codes::coded_enum;

/// How one-time codes work (IA-11; ASVS 2.7.2): six digits, valid for ten minutes,
/// used once, dead after five wrong tries, and sent at most three times in ten
/// minutes to one phone (the per-address limit is the server's, `rate_limit.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodePolicy {
    pub ttl: Duration,
    pub max_attempts: i64,
    pub sends_per_phone: i64,
    pub send_window: Duration,
    /// How long the proof lasts once the code is right: long enough to read one's
    /// reports and file a request, short enough that a phone left on a table does
    /// not stay open.
    pub pass_ttl: Duration,
}

impl Default for CodePolicy {
    fn default() -> Self {
        CodePolicy {
            ttl: Duration::minutes(10),
            max_attempts: 5,
            sends_per_phone: 3,
            send_window: Duration::minutes(10),
            pass_ttl: Duration::minutes(30),
        }
    }
}

/// Six digits from a random number: every code from 000000 to 999999 equally likely
/// when `random` is uniform over `u32` (the bias of the remainder is below 1/4000).
pub fn code_from(random: u32) -> String {
    format!("{:06}", random % 1_000_000)
}

/// Whether a typed code has the form of one: six ASCII digits, spaces around
/// forgiven.
pub fn well_formed_code(code: &str) -> bool {
    let c = code.trim();
    c.len() == 6 && c.bytes().all(|b| b.is_ascii_digit())
}

coded_enum!(
    /// What a reporter asks for about one of their reports.
    RequestKind {
        Correct = "correct" / "更正",
        Delete = "delete" / "删除",
    }
);

coded_enum!(
    /// Where a request stands.
    RequestStatus {
        Open = "open" / "待处理",
        Done = "done" / "已办理",
        Refused = "refused" / "不予办理",
    }
);

/// Days the command room has to decide a request. PIPL Art. 50 asks for a
/// "timely" answer without a number; 15 days follows the common practice of
/// GB/T 35273 (unverified here: confirm with the city's data protection officer).
pub const DECIDE_WITHIN_DAYS: i64 = 15;

pub fn due_at(requested_at: DateTime<Utc>) -> DateTime<Utc> {
    requested_at + Duration::days(DECIDE_WITHIN_DAYS)
}

/// Why a request is refused at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestProblem {
    pub field: &'static str,
    pub reason: &'static str,
}

/// Checks a request as filed: a correction names what is to be right (a name, a
/// phone, or both); a deletion needs nothing more; a note is at most 500
/// characters.
pub fn check_request(
    kind: RequestKind,
    new_name: Option<&str>,
    new_phone: Option<&str>,
    note: Option<&str>,
) -> Result<(), RequestProblem> {
    let given = |v: Option<&str>| v.is_some_and(|s| !s.trim().is_empty());
    if kind == RequestKind::Correct && !given(new_name) && !given(new_phone) {
        return Err(RequestProblem {
            field: "name",
            reason: "请填写更正后的姓名或电话",
        });
    }
    if kind == RequestKind::Delete && (given(new_name) || given(new_phone)) {
        return Err(RequestProblem {
            field: "kind",
            reason: "删除申请不填写新的姓名或电话",
        });
    }
    if note.is_some_and(|n| n.chars().count() > 500) {
        return Err(RequestProblem {
            field: "note",
            reason: "说明不超过 500 字",
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_six_digits_with_leading_zeros() {
        assert_eq!(code_from(42), "000042");
        assert_eq!(code_from(u32::MAX), "967295");
        assert!(well_formed_code(" 012345 "));
        assert!(!well_formed_code("12345"));
        assert!(!well_formed_code("12345a"));
        assert!(
            !well_formed_code("１２３４５６"),
            "full-width digits are not codes"
        );
    }

    #[test]
    fn a_correction_says_what_is_right_and_a_deletion_does_not() {
        use RequestKind::*;
        assert!(check_request(Correct, Some("王五"), None, None).is_ok());
        assert!(check_request(Correct, None, Some("13900001111"), None).is_ok());
        assert_eq!(
            check_request(Correct, Some(" "), None, None)
                .unwrap_err()
                .field,
            "name"
        );
        assert!(check_request(Delete, None, None, Some("事情已解决")).is_ok());
        assert_eq!(
            check_request(Delete, Some("王五"), None, None)
                .unwrap_err()
                .field,
            "kind"
        );
        let long = "很".repeat(501);
        assert_eq!(
            check_request(Delete, None, None, Some(&long))
                .unwrap_err()
                .field,
            "note"
        );
    }

    #[test]
    fn the_command_room_has_fifteen_days() {
        let at = Utc::now();
        assert_eq!(due_at(at) - at, Duration::days(15));
        let p = CodePolicy::default();
        assert!(p.ttl <= Duration::minutes(10), "IA-11: at most 10 minutes");
        assert_eq!(p.max_attempts, 5);
    }
}
