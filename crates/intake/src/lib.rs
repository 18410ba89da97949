//! Channel adapters (D2): every channel's own format becomes a [`RawNewEvent`], the
//! wire form of the one intake. An adapter only parses and renames; checking values,
//! converting coordinates, classifying, locating and storing happen once, after it,
//! for every channel alike. A new channel is a new module here.
//!
//! [`RawNewEvent`]: zhili_domain::RawNewEvent

pub mod hotline;
pub mod petition;
pub mod routing;
pub mod survey;

use thiserror::Error;

/// One refused row of an imported file, in the file's own terms: the row (or line)
/// number as the user sees it, the column (or field) name, and why.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("第 {row} 行 · {field}: {message}")]
pub struct RowError {
    pub row: usize,
    pub field: String,
    pub message: String,
}

impl RowError {
    pub fn new(row: usize, field: impl Into<String>, message: impl Into<String>) -> Self {
        RowError {
            row,
            field: field.into(),
            message: message.into(),
        }
    }
}

/// One row of a file: its row (or line) number and what it became, or why not.
pub type Numbered<T> = Result<(usize, T), RowError>;

/// A file that cannot be read as a whole: nothing in it is imported.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FileError {
    #[error("文件为空")]
    Empty,
    #[error("文件编码无法识别：既不是 UTF-8 也不是 GBK/GB18030")]
    Encoding,
    #[error("无法读取 Excel 文件：{0}")]
    Excel(String),
    #[error("无法读取 CSV 文件：{0}")]
    Csv(String),
    #[error("第 {line} 行附近 JSON 格式错误：{message}")]
    Json { line: usize, message: String },
    #[error("找不到表头：前 {searched} 行中没有可识别的列名（如 {example}）")]
    NoHeader {
        searched: usize,
        example: &'static str,
    },
    #[error("缺少必填列「{column}」（也可写作：{synonyms}）")]
    MissingColumn {
        column: &'static str,
        synonyms: String,
    },
    #[error("列「{column}」出现了两次（第 {first} 列与第 {second} 列），请删去一列")]
    DuplicateColumn {
        column: &'static str,
        first: usize,
        second: usize,
    },
}

/// File bytes to text: UTF-8 (a BOM skipped) when they are valid UTF-8, else
/// GB18030, a superset of the GBK that Chinese Excel and Windows tools write.
pub fn decode_text(bytes: &[u8]) -> Result<String, FileError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if let Ok(s) = std::str::from_utf8(bytes) {
        return Ok(s.to_owned());
    }
    let (text, _, had_errors) = encoding_rs::GB18030.decode(bytes);
    if had_errors {
        return Err(FileError::Encoding);
    }
    Ok(text.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_utf8_with_or_without_bom_else_gb18030() {
        assert_eq!(decode_text("信访".as_bytes()).unwrap(), "信访");
        assert_eq!(decode_text(b"\xEF\xBB\xBFabc").unwrap(), "abc");
        let (gbk, _, _) = encoding_rs::GBK.encode("信访内容");
        assert_eq!(decode_text(&gbk).unwrap(), "信访内容");
        assert_eq!(decode_text(&[0x81, 0x20]), Err(FileError::Encoding));
    }
}
