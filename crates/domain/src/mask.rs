//! Masking of personal data inside free text, for whatever shows the text to
//! someone with no need for it: the public feed, the province's platforms. Reporters
//! write their phone number or ID number into the description ("请联系我
//! 13812345678"); the handlers need it, the public must not see it. Names cannot be
//! found reliably in free text and are not attempted.

/// Masks phone numbers, ID numbers (身份证号), card numbers and e-mail addresses.
///
/// A run of digits is personal when it has 9 or more digits (mobiles, numbers with an
/// area code, ID and bank card numbers) or 7–8 digits (a local landline) unless it is
/// a date. Digit groups joined by `-` or a space count as one number when they start
/// like a phone number (`0574-62345678`, `138 1234 5678`) or a date (`2026-11-28`);
/// other groups such as a flat number `12-3-1201` stay apart. Full-width digits
/// (１３８…) count as digits.
pub fn mask_in_text(text: &str) -> String {
    mask_numbers(&mask_emails(text))
}

fn digit(c: char) -> Option<u32> {
    match c {
        '0'..='9' => Some(c as u32 - '0' as u32),
        '０'..='９' => Some(c as u32 - '０' as u32),
        _ => None,
    }
}

fn mask_numbers(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        if digit(chars[i]).is_none() {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        // The first group of digits.
        let start = i;
        let mut digits: Vec<char> = Vec::new();
        while i < chars.len() && digit(chars[i]).is_some() {
            digits.push(chars[i]);
            i += 1;
        }
        let first: Vec<u32> = digits.iter().filter_map(|c| digit(*c)).collect();
        let joinable = first.first() == Some(&0)
            || (first.len() == 3 && first[0] == 1)
            || (first.len() == 4 && matches!((first[0], first[1]), (1, 9) | (2, 0)));
        let mut separated = false;
        // Further groups after a single separator.
        while joinable
            && i + 1 < chars.len()
            && matches!(chars[i], '-' | ' ')
            && digit(chars[i + 1]).is_some()
        {
            separated = true;
            i += 1;
            while i < chars.len() && digit(chars[i]).is_some() {
                digits.push(chars[i]);
                i += 1;
            }
        }
        // The check character of an ID number.
        if digits.len() == 17 && i < chars.len() && matches!(chars[i], 'X' | 'x') {
            digits.push(chars[i]);
            i += 1;
        }
        let n = digits.len();
        let values: Vec<u32> = digits.iter().filter_map(|c| digit(*c)).collect();
        let personal = n >= 9 || ((7..=8).contains(&n) && !looks_like_date(&values, separated));
        if personal {
            let keep_head = if n >= 11 { 3 } else { 0 };
            out.extend(&digits[..keep_head]);
            out.extend(std::iter::repeat_n('*', n - keep_head - 4));
            out.extend(&digits[n - 4..]);
        } else {
            out.extend(&chars[start..i]);
        }
    }
    out
}

/// `20261128`, or 7–8 digits written with separators after a year (`2026-11-5`).
fn looks_like_date(d: &[u32], separated: bool) -> bool {
    if d.len() < 7 {
        return false;
    }
    let year = d[0] * 1000 + d[1] * 100 + d[2] * 10 + d[3];
    if !(1900..=2100).contains(&year) {
        return false;
    }
    if separated {
        return true;
    }
    d.len() == 8 && {
        let month = d[4] * 10 + d[5];
        let day = d[6] * 10 + d[7];
        (1..=12).contains(&month) && (1..=31).contains(&day)
    }
}

fn email_local(c: char) -> bool {
    c.is_ascii_alphanumeric() || "._%+-".contains(c)
}

fn email_domain(c: char) -> bool {
    c.is_ascii_alphanumeric() || ".-".contains(c)
}

/// `wang.xm@example.com` → `w***@example.com`.
fn mask_emails(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    for at in 0..chars.len() {
        if chars[at] != '@' || at < copied {
            continue;
        }
        let mut l = at;
        while l > copied && email_local(chars[l - 1]) {
            l -= 1;
        }
        let mut r = at + 1;
        while r < chars.len() && email_domain(chars[r]) {
            r += 1;
        }
        let domain: String = chars[at + 1..r].iter().collect();
        let domain = domain.trim_end_matches('.');
        if l == at || !domain.contains('.') {
            continue;
        }
        out.extend(&chars[copied..l]);
        out.push(chars[l]);
        out.push_str("***@");
        out.push_str(domain);
        copied = at + 1 + domain.chars().count();
    }
    out.extend(&chars[copied.min(chars.len())..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_and_id_numbers_are_masked() {
        assert_eq!(
            mask_in_text("请联系我13812345678，谢谢"),
            "请联系我138****5678，谢谢"
        );
        assert_eq!(mask_in_text("电话 138-1234-5678"), "电话 138****5678");
        assert_eq!(mask_in_text("电话 138 1234 5678。"), "电话 138****5678。");
        assert_eq!(mask_in_text("座机0574-62345678"), "座机057*****5678");
        assert_eq!(mask_in_text("座机62345678"), "座机****5678");
        assert_eq!(
            mask_in_text("身份证330281199001011234"),
            "身份证330***********1234"
        );
        assert_eq!(
            mask_in_text("身份证33028119900101123X号"),
            "身份证330***********123X号"
        );
        assert_eq!(mask_in_text("１３８１２３４５６７８"), "１３８****５６７８");
    }

    #[test]
    fn dates_addresses_and_small_numbers_stay() {
        for keep in [
            "2026-11-28 晚上10点",
            "20261128晚上",
            "3栋2单元1201室",
            "12-3-1201",
            "噪音持续了3个小时，约80分贝",
            "2026年11月28日",
        ] {
            assert_eq!(mask_in_text(keep), keep);
        }
    }

    #[test]
    fn emails_are_masked() {
        assert_eq!(
            mask_in_text("邮箱 wang.xm@example.com。"),
            "邮箱 w***@example.com。"
        );
        assert_eq!(mask_in_text("a@b"), "a@b");
        assert_eq!(mask_in_text("@@x.y @"), "@@x.y @");
        assert_eq!(mask_in_text("x@a.cn 和 y@b.cn"), "x***@a.cn 和 y***@b.cn");
    }
}
