//! Values from outside, parsed once at the edge into types that cannot hold an
//! invalid value ("parse, don't validate"), and the masking of personal data.

use serde::{Deserialize, Serialize};
use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ValueError {
    #[error("不是有效的手机号或固定电话号码")]
    Phone,
    #[error("姓名不能为空且不超过 {max} 个字")]
    Name { max: usize },
    #[error("内容不能为空")]
    TextEmpty,
    #[error("内容不能超过 {max} 个字符")]
    TextTooLong { max: usize },
    #[error("坐标不是有效数字")]
    CoordinateNotFinite,
    #[error("坐标不在中国境内（经度 73.4–135.1，纬度 3.8–53.6，WGS-84）")]
    CoordinateOutsideChina,
}

/// A mainland phone number: an 11-digit mobile (1[3-9]…) or a landline with area code.
/// Stored without separators or the +86 prefix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Phone(String);

impl Phone {
    pub fn parse(input: &str) -> Result<Self, ValueError> {
        let mut digits: String = input
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '(' | ')'))
            .collect();
        if let Some(rest) = digits.strip_prefix("+86") {
            digits = rest.to_string();
        }
        if !digits.chars().all(|c| c.is_ascii_digit()) {
            return Err(ValueError::Phone);
        }
        let b = digits.as_bytes();
        let mobile = b.len() == 11 && b[0] == b'1' && (b'3'..=b'9').contains(&b[1]);
        // Area code 0xx or 0xxx followed by a 7–8 digit local number.
        let landline = b.first() == Some(&b'0') && (10..=12).contains(&b.len());
        if mobile || landline {
            Ok(Phone(digits))
        } else {
            Err(ValueError::Phone)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A person's name as reported; short, non-empty, trimmed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PersonName(String);

impl PersonName {
    pub const MAX_CHARS: usize = 50;

    pub fn parse(input: &str) -> Result<Self, ValueError> {
        let t = input.trim();
        if t.is_empty() || t.chars().count() > Self::MAX_CHARS {
            return Err(ValueError::Name {
                max: Self::MAX_CHARS,
            });
        }
        Ok(PersonName(t.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Free text of bounded length (event descriptions, reasons, results).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EventText(String);

impl EventText {
    pub const MAX_CHARS: usize = 10_000;

    pub fn parse(input: &str) -> Result<Self, ValueError> {
        Self::parse_max(input, Self::MAX_CHARS)
    }

    pub fn parse_max(input: &str, max: usize) -> Result<Self, ValueError> {
        let t = input.trim();
        if t.is_empty() {
            return Err(ValueError::TextEmpty);
        }
        if t.chars().count() > max {
            return Err(ValueError::TextTooLong { max });
        }
        Ok(EventText(t.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A point in WGS-84 (the one coordinate system zhili stores), inside China.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GeoPoint {
    pub lon: f64,
    pub lat: f64,
}

impl GeoPoint {
    pub fn parse(lon: f64, lat: f64) -> Result<Self, ValueError> {
        if !lon.is_finite() || !lat.is_finite() {
            return Err(ValueError::CoordinateNotFinite);
        }
        // China's extent, generously: a coarse check that catches swapped or
        // foreign coordinates; which grid a point is in is decided elsewhere.
        if !(73.4..=135.1).contains(&lon) || !(3.8..=53.6).contains(&lat) {
            return Err(ValueError::CoordinateOutsideChina);
        }
        Ok(GeoPoint { lon, lat })
    }
}

/// `13812345678` → `138****5678`; short or odd numbers keep only their last 4 digits.
pub fn mask_phone(phone: &str) -> String {
    let chars: Vec<char> = phone.chars().collect();
    match chars.len() {
        11 => format!(
            "{}****{}",
            chars[..3].iter().collect::<String>(),
            chars[7..].iter().collect::<String>()
        ),
        n if n > 4 => format!(
            "{}{}",
            "*".repeat(n - 4),
            chars[n - 4..].iter().collect::<String>()
        ),
        n => "*".repeat(n),
    }
}

/// `张三` → `张*`, `欧阳娜娜` → `欧***`: the surname's first character stays.
pub fn mask_name(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => {
            let rest = chars.count();
            format!("{first}{}", "*".repeat(rest.max(1)))
        }
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_are_normalised_or_refused() {
        assert_eq!(
            Phone::parse("138 1234 5678").unwrap().as_str(),
            "13812345678"
        );
        assert_eq!(
            Phone::parse("+86-13812345678").unwrap().as_str(),
            "13812345678"
        );
        assert_eq!(
            Phone::parse("0574-62345678").unwrap().as_str(),
            "057462345678"
        );
        assert!(Phone::parse("12812345678").is_err());
        assert!(Phone::parse("1381234567").is_err());
        assert!(Phone::parse("138123456ab").is_err());
        assert!(Phone::parse("").is_err());
    }

    #[test]
    fn masking_hides_the_middle() {
        assert_eq!(mask_phone("13812345678"), "138****5678");
        assert_eq!(mask_phone("057462345678"), "********5678");
        assert_eq!(mask_name("张三"), "张*");
        assert_eq!(mask_name("欧阳娜娜"), "欧***");
        assert_eq!(mask_name("李"), "李*");
    }

    #[test]
    fn text_is_bounded_in_characters_not_bytes() {
        let ten_thousand_han = "噪".repeat(10_000);
        assert!(EventText::parse(&ten_thousand_han).is_ok());
        let too_long = "噪".repeat(10_001);
        assert_eq!(
            EventText::parse(&too_long),
            Err(ValueError::TextTooLong { max: 10_000 })
        );
        assert_eq!(EventText::parse("   "), Err(ValueError::TextEmpty));
    }

    #[test]
    fn coordinates_must_be_in_china() {
        assert!(GeoPoint::parse(121.15, 30.04).is_ok());
        assert_eq!(
            GeoPoint::parse(30.04, 121.15),
            Err(ValueError::CoordinateOutsideChina)
        );
        assert_eq!(
            GeoPoint::parse(-0.12, 51.5),
            Err(ValueError::CoordinateOutsideChina)
        );
        assert_eq!(
            GeoPoint::parse(f64::NAN, 30.0),
            Err(ValueError::CoordinateNotFinite)
        );
    }
}
