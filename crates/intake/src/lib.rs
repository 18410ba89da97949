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

/// The rows of an uploaded table, CSV (UTF-8 or GBK) or Excel (first sheet), each with
/// the row number its user sees, every cell as text: a code typed as a number reads
/// as that number, a date cell as `YYYY-MM-DD`.
pub(crate) fn read_rows(bytes: &[u8]) -> Result<Vec<(usize, Vec<String>)>, FileError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(FileError::Empty);
    }
    if bytes.starts_with(b"PK\x03\x04") {
        read_excel(bytes)
    } else {
        read_csv(&decode_text(bytes)?)
    }
}

fn read_csv(text: &str) -> Result<Vec<(usize, Vec<String>)>, FileError> {
    let mut r = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut out = Vec::new();
    for rec in r.records() {
        let rec = rec.map_err(|e| FileError::Csv(e.to_string()))?;
        let line = rec.position().map_or(out.len() + 1, |p| p.line() as usize);
        out.push((line, rec.iter().map(str::to_string).collect()));
    }
    Ok(out)
}

fn read_excel(bytes: &[u8]) -> Result<Vec<(usize, Vec<String>)>, FileError> {
    use calamine::{Data, Reader, open_workbook_auto_from_rs};
    let mut wb = open_workbook_auto_from_rs(std::io::Cursor::new(bytes))
        .map_err(|e| FileError::Excel(e.to_string()))?;
    let range = wb
        .worksheet_range_at(0)
        .ok_or_else(|| FileError::Excel("文件中没有工作表".into()))?
        .map_err(|e| FileError::Excel(e.to_string()))?;
    let (first_row, first_col) = range
        .start()
        .map_or((0, 0), |(r, c)| (r as usize, c as usize));
    Ok(range
        .rows()
        .enumerate()
        .map(|(i, cells)| {
            let mut out = vec![String::new(); first_col];
            out.extend(cells.iter().map(|c| match c {
                Data::Empty => String::new(),
                Data::String(s) => s.clone(),
                Data::Int(n) => n.to_string(),
                // A code typed as a number: 330281002.0 shows as 330281002.
                Data::Float(f) => f.to_string(),
                Data::DateTime(d) => d.as_datetime().map_or_else(
                    || d.as_f64().to_string(),
                    |t| t.format("%Y-%m-%d").to_string(),
                ),
                other => other.to_string(),
            }));
            (first_row + i + 1, out)
        })
        .collect())
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
