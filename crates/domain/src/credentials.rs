//! Password rules and what a signed-in account must do before it may work
//! (等保 8.1.4.1 a–d; ASVS 2.1, 2.8; the checklist's IA-02, IA-03, IA-08, IA-12).
//!
//! A session of an account whose password must change (a one-time password from
//! `zhili user add` or an admin's reset, or a password older than the policy allows),
//! or of an admin without a second factor, is let through only to the account page
//! until that is done: the [`Gate`]. The rules are here, the clock passed in.

use chrono::{DateTime, Duration, Utc};

use crate::codes::Role;

/// The length bounds of ASVS 2.1.1/2.1.2: at least 12 characters, at most 128.
pub const PASSWORD_MIN_CHARS: usize = 12;
pub const PASSWORD_MAX_CHARS: usize = 128;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordPolicy {
    /// A password older than this must be changed at the next login; `None`: never.
    pub max_age: Option<Duration>,
    /// Roles that must have a second factor (TOTP) before they can work.
    pub second_factor_roles: Vec<Role>,
}

impl Default for PasswordPolicy {
    /// 90 days, and a second factor for admins: what 等保 level 3 assessors ask for.
    fn default() -> Self {
        PasswordPolicy {
            max_age: Some(Duration::days(90)),
            // The three administrators (三员): system, security and audit.
            second_factor_roles: vec![Role::Admin, Role::SecurityAdmin, Role::Auditor],
        }
    }
}

/// What an account must do before its session may do anything else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    /// A one-time or expired password: choose a new one.
    ChangePassword,
    /// A role that needs a second factor, without one: enrol an authenticator app.
    EnrolSecondFactor,
}

impl Gate {
    pub fn code(self) -> &'static str {
        match self {
            Gate::ChangePassword => "password_change_required",
            Gate::EnrolSecondFactor => "second_factor_required",
        }
    }

    pub fn message_zh(self) -> &'static str {
        match self {
            Gate::ChangePassword => "请先修改密码（初始密码或密码已到期）",
            Gate::EnrolSecondFactor => "请先绑定动态口令（本角色必须使用双因素登录）",
        }
    }
}

/// The credential state stored with an account.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CredentialState {
    /// Set for one-time passwords (new accounts, resets).
    pub must_change_password: bool,
    pub password_changed_at: Option<DateTime<Utc>>,
    /// An authenticator app is bound to the account.
    pub second_factor: bool,
}

/// Machine accounts (the call centre's, say) and citizens do not change passwords
/// on a clock or bind authenticator apps: no person sits at a staff login there.
fn is_staff(role: Role) -> bool {
    !matches!(role, Role::Integration | Role::Citizen)
}

impl PasswordPolicy {
    /// What `role` with `state` must do first at `now`, if anything. The password
    /// comes first: an admin's first login changes the one-time password, then binds
    /// the second factor.
    pub fn gate(&self, role: Role, state: &CredentialState, now: DateTime<Utc>) -> Option<Gate> {
        if !is_staff(role) {
            return None;
        }
        let expired = match (self.max_age, state.password_changed_at) {
            (Some(age), Some(at)) => now - at >= age,
            _ => false,
        };
        if state.must_change_password || expired {
            return Some(Gate::ChangePassword);
        }
        if !state.second_factor && self.second_factor_roles.contains(&role) {
            return Some(Gate::EnrolSecondFactor);
        }
        None
    }
}

/// Why a new password is refused; each says so in Chinese for the form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PasswordProblem {
    #[error("密码至少 12 个字符")]
    TooShort,
    #[error("密码不能超过 128 个字符")]
    TooLong,
    #[error("密码过于常见或有规律，容易被猜中")]
    Common,
    #[error("密码不能包含用户名、姓名或电话号码")]
    Personal,
    #[error("新密码不能与当前密码相同")]
    Unchanged,
}

/// Passwords of 12 or more characters that lists of breached passwords put near the
/// top, and the keyboard walks they are made of. Lower-cased; a password whose
/// lower-case form is one of these, or one of these with digits or `!` after, is
/// refused. The length rule already refuses the short ones everyone knows.
const COMMON: &[&str] = &[
    "password",
    "passw0rd",
    "qwertyuiop",
    "qwertyuiopasdfghjkl",
    "asdfghjkl",
    "zxcvbnm",
    "1qaz2wsx3edc",
    "1q2w3e4r5t6y",
    "qazwsxedc",
    "qweasdzxc",
    "abcdefghijkl",
    "iloveyou",
    "woaini",
    "woaini1314",
    "5201314",
    "admin",
    "administrator",
    "zhili",
    "zhili-demo",
    "welcome",
    "changeme",
    "letmein",
    "p@ssw0rd",
    "p@ssword",
    "admin@",
    "abc123",
];

fn is_common(lower: &str) -> bool {
    let chars: Vec<char> = lower.chars().collect();
    // One character repeated, or a run such as 123456789012 or abcdefghijkl.
    if chars.windows(2).all(|w| w[0] == w[1])
        || chars
            .windows(2)
            .all(|w| u32::from(w[1]) == u32::from(w[0]) + 1)
        || chars.iter().all(|c| c.is_ascii_digit())
    {
        return true;
    }
    let stem = lower.trim_end_matches(|c: char| c.is_ascii_digit() || c == '!' || c == '.');
    COMMON.contains(&lower) || COMMON.contains(&stem) || stem.is_empty()
}

/// Checks a new password: length by characters (a Chinese character counts as one),
/// not common, and not containing the username, name or any phone number given.
/// Composition rules (an upper-case letter, a digit, …) are deliberately absent:
/// ASVS 2.1.9 forbids them, and length does more.
pub fn check_new_password(
    new: &str,
    current: Option<&str>,
    personal: &[&str],
) -> Result<(), PasswordProblem> {
    let n = new.chars().count();
    if n < PASSWORD_MIN_CHARS {
        return Err(PasswordProblem::TooShort);
    }
    if n > PASSWORD_MAX_CHARS {
        return Err(PasswordProblem::TooLong);
    }
    if current == Some(new) {
        return Err(PasswordProblem::Unchanged);
    }
    let lower = new.to_lowercase();
    if is_common(&lower) {
        return Err(PasswordProblem::Common);
    }
    let digits: String = new.chars().filter(char::is_ascii_digit).collect();
    for p in personal.iter().map(|p| p.trim().to_lowercase()) {
        // Short parts (a one-letter username) would refuse half of all passwords.
        if p.chars().count() < 3 {
            continue;
        }
        let p_digits: String = p.chars().filter(char::is_ascii_digit).collect();
        let is_phone = p_digits.len() >= 7
            && p_digits.len()
                == p.chars()
                    .filter(|c| !c.is_whitespace() && *c != '-')
                    .count();
        if lower.contains(&p) || (is_phone && digits.contains(&p_digits)) {
            return Err(PasswordProblem::Personal);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn length_counts_characters_and_bounds_both_ends() {
        assert_eq!(
            check_new_password("短密码abc", None, &[]),
            Err(PasswordProblem::TooShort)
        );
        // Twelve Chinese characters are twelve characters, not 36 bytes.
        assert_eq!(
            check_new_password("春眠不觉晓处处闻啼鸟夜来", None, &[]),
            Ok(())
        );
        assert_eq!(
            check_new_password("春眠不觉晓处处闻啼", None, &[]),
            Err(PasswordProblem::TooShort)
        );
        let long = "a-b".repeat(43);
        assert_eq!(
            check_new_password(&long, None, &[]),
            Err(PasswordProblem::TooLong)
        );
        assert_eq!(
            check_new_password("correct horse battery staple", None, &[]),
            Ok(())
        );
    }

    #[test]
    fn common_and_patterned_passwords_are_refused() {
        for p in [
            "password1234",
            "Password123!",
            "qwertyuiop12",
            "123456789012",
            "aaaaaaaaaaaa",
            "abcdefghijkl",
            "woaini131452",
            "202612031234",
            "Admin@123456",
        ] {
            assert_eq!(
                check_new_password(p, None, &[]),
                Err(PasswordProblem::Common),
                "{p}"
            );
        }
        assert_eq!(
            check_new_password("桂花巷路灯又坏了2026", None, &[]),
            Ok(())
        );
    }

    #[test]
    fn the_username_name_or_phone_inside_is_refused() {
        let personal = ["fengshan", "张三丰", "138 1234 5678"];
        for p in [
            "my-fengshan-2026!",
            "张三丰的新密码好长好长啊",
            "x13812345678xyz",
        ] {
            assert_eq!(
                check_new_password(p, None, &personal),
                Err(PasswordProblem::Personal),
                "{p}"
            );
        }
        assert_eq!(
            check_new_password("river-stone-7-lamp", None, &personal),
            Ok(())
        );
        // A two-letter username is too short to refuse on.
        assert_eq!(
            check_new_password("river-stone-7-lamp-li", None, &["li"]),
            Ok(())
        );
    }

    #[test]
    fn the_same_password_again_is_refused() {
        let p = "river-stone-7-lamp";
        assert_eq!(
            check_new_password(p, Some(p), &[]),
            Err(PasswordProblem::Unchanged)
        );
    }

    #[test]
    fn the_gate_asks_for_a_new_password_first_then_a_second_factor() {
        let policy = PasswordPolicy::default();
        let now = at("2026-12-03T08:00:00Z");
        let fresh = CredentialState {
            must_change_password: true,
            password_changed_at: Some(now),
            second_factor: false,
        };
        assert_eq!(
            policy.gate(Role::Admin, &fresh, now),
            Some(Gate::ChangePassword)
        );
        let changed = CredentialState {
            must_change_password: false,
            ..fresh.clone()
        };
        assert_eq!(
            policy.gate(Role::Admin, &changed, now),
            Some(Gate::EnrolSecondFactor)
        );
        // Other staff may bind a second factor but need not.
        assert_eq!(policy.gate(Role::TownshipOperator, &changed, now), None);
        let bound = CredentialState {
            second_factor: true,
            ..changed.clone()
        };
        assert_eq!(policy.gate(Role::Admin, &bound, now), None);
        // Machine accounts are never gated, even with a one-time password.
        assert_eq!(policy.gate(Role::Integration, &fresh, now), None);
    }

    #[test]
    fn a_password_expires_at_its_age_not_before() {
        let policy = PasswordPolicy::default();
        let set = at("2026-09-04T08:00:00Z");
        let state = CredentialState {
            must_change_password: false,
            password_changed_at: Some(set),
            second_factor: true,
        };
        let day_89 = set + Duration::days(90) - Duration::seconds(1);
        assert_eq!(policy.gate(Role::UnitHandler, &state, day_89), None);
        assert_eq!(
            policy.gate(Role::UnitHandler, &state, set + Duration::days(90)),
            Some(Gate::ChangePassword)
        );
        let no_age = PasswordPolicy {
            max_age: None,
            ..policy
        };
        assert_eq!(
            no_age.gate(Role::UnitHandler, &state, set + Duration::days(900)),
            None
        );
    }
}
