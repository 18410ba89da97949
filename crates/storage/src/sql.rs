//! Dynamic SQL built from static fragments and `$n` placeholders (which SQLite and
//! PostgreSQL both accept), with the values kept apart for binding. Nothing from the
//! outside is ever pasted into the text.

use chrono::{DateTime, Utc};

/// Binds a built statement's values in order, whichever backend the query is for.
macro_rules! bind_all {
    ($q:expr, $args:expr) => {{
        let mut q = $q;
        for a in $args {
            q = match a {
                Arg::I64(v) => q.bind(v),
                Arg::Text(v) => q.bind(v),
                Arg::Time(v) => q.bind(v),
                Arg::F64(v) => q.bind(v),
                Arg::Bool(v) => q.bind(v),
                Arg::OptI64(v) => q.bind(v),
                Arg::OptText(v) => q.bind(v),
                Arg::OptTime(v) => q.bind(v),
                Arg::Bytes(v) => q.bind(v),
            };
        }
        q
    }};
}
pub(crate) use bind_all;

#[derive(Debug, Clone)]
pub(crate) enum Arg {
    I64(i64),
    Text(String),
    Time(DateTime<Utc>),
    // For multi-row inserts, where a column may be empty.
    F64(Option<f64>),
    Bool(bool),
    OptI64(Option<i64>),
    OptText(Option<String>),
    OptTime(Option<DateTime<Utc>>),
    /// A binary column (a patrol's photo), possibly empty.
    Bytes(Option<Vec<u8>>),
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Sql {
    pub text: String,
    pub args: Vec<Arg>,
}

impl Sql {
    pub fn new(text: &'static str) -> Self {
        Sql {
            text: text.to_string(),
            args: Vec::new(),
        }
    }

    pub fn push(&mut self, fragment: &'static str) -> &mut Self {
        self.text.push_str(fragment);
        self
    }

    /// Appends the placeholder for `arg` and remembers its value.
    pub fn arg(&mut self, arg: Arg) -> &mut Self {
        self.args.push(arg);
        self.text.push('$');
        self.text.push_str(&self.args.len().to_string());
        self
    }

    /// `($a, $b, …)`: a parenthesised list of placeholders, for `IN` and `VALUES`.
    pub fn list(&mut self, args: impl IntoIterator<Item = Arg>) -> &mut Self {
        self.text.push('(');
        for (i, a) in args.into_iter().enumerate() {
            if i > 0 {
                self.text.push_str(", ");
            }
            self.arg(a);
        }
        self.text.push(')');
        self
    }

    /// `(…), (…), …`: the rows of a multi-row `VALUES`.
    pub fn rows<R: IntoIterator<Item = Arg>>(
        &mut self,
        rows: impl IntoIterator<Item = R>,
    ) -> &mut Self {
        for (i, row) in rows.into_iter().enumerate() {
            if i > 0 {
                self.text.push_str(", ");
            }
            self.list(row);
        }
        self
    }

    /// Appends another piece (a WHERE condition, say) with its own `$n` numbering
    /// shifted to follow ours.
    pub fn append(&mut self, other: Sql) -> &mut Self {
        let offset = self.args.len();
        let mut out = String::with_capacity(other.text.len());
        let mut chars = other.text.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '$' && chars.peek().is_some_and(|d| d.is_ascii_digit()) {
                let mut n = String::new();
                while let Some(d) = chars.peek().copied().filter(char::is_ascii_digit) {
                    n.push(d);
                    chars.next();
                }
                let n: usize = n.parse().unwrap_or(0);
                out.push('$');
                out.push_str(&(n + offset).to_string());
            } else {
                out.push(c);
            }
        }
        self.text.push_str(&out);
        self.args.extend(other.args);
        self
    }
}

/// Escapes `%`, `_` and `\` for a LIKE pattern used with `ESCAPE '\'`.
pub(crate) fn like_contains(needle: &str) -> String {
    let mut s = String::with_capacity(needle.len() + 2);
    s.push('%');
    for c in needle.chars() {
        if matches!(c, '%' | '_' | '\\') {
            s.push('\\');
        }
        s.push(c);
    }
    s.push('%');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appended_placeholders_are_renumbered() {
        let mut a = Sql::new("SELECT 1 WHERE a = ");
        a.arg(Arg::I64(1));
        let mut b = Sql::new(" AND b = ");
        b.arg(Arg::I64(2)).push(" AND c = ").arg(Arg::I64(3));
        a.append(b);
        assert_eq!(a.text, "SELECT 1 WHERE a = $1 AND b = $2 AND c = $3");
        assert_eq!(a.args.len(), 3);
    }

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(like_contains("50%_off"), "%50\\%\\_off%");
    }
}

/// `items` in runs whose lengths are powers of two, at most `max`, largest first
/// (100 with 64: 64, 32, 4). A multi-row statement over such runs has one of a few
/// texts, each prepared once per connection and kept, instead of a new text to parse
/// and plan for every batch size.
pub(crate) fn pow2_chunks<T>(mut items: &[T], max: usize) -> Vec<&[T]> {
    debug_assert!(max.is_power_of_two());
    let mut out = Vec::new();
    while !items.is_empty() {
        let n = if items.len() >= max {
            max
        } else {
            1 << (usize::BITS - 1 - items.len().leading_zeros())
        };
        let (run, rest) = items.split_at(n);
        out.push(run);
        items = rest;
    }
    out
}

#[cfg(test)]
mod chunk_tests {
    use super::pow2_chunks;

    #[test]
    fn runs_are_powers_of_two_largest_first_and_cover_everything() {
        let lens = |n: usize, max| {
            pow2_chunks(&(0..n).collect::<Vec<_>>(), max)
                .iter()
                .map(|c| c.len())
                .collect::<Vec<_>>()
        };
        assert_eq!(lens(100, 64), [64, 32, 4]);
        assert_eq!(lens(200, 128), [128, 64, 8]);
        assert_eq!(lens(1, 64), [1]);
        assert_eq!(lens(0, 64), [] as [usize; 0]);
        assert_eq!(lens(129, 64), [64, 64, 1]);
        let items: Vec<u32> = (0..77).collect();
        let joined: Vec<u32> = pow2_chunks(&items, 16).concat();
        assert_eq!(joined, items, "in order, nothing lost or repeated");
    }
}

/// `$1, $2, …` as anonymous `?` for SQLite, for statements whose placeholders
/// appear once each, in order (multi-row inserts). sqlx finds a numbered SQLite
/// parameter by name, in time quadratic in their count; anonymous ones are bound
/// by position.
pub(crate) fn anonymous_placeholders(text: String) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) {
            while chars.peek().is_some_and(char::is_ascii_digit) {
                chars.next();
            }
            out.push('?');
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod placeholder_tests {
    #[test]
    fn numbered_placeholders_become_anonymous() {
        assert_eq!(
            super::anonymous_placeholders("VALUES ($1, $2, 0, $3), ($4, $10)".into()),
            "VALUES (?, ?, 0, ?), (?, ?)"
        );
    }
}
