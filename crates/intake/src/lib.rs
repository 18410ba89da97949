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
    use calamine::Data;
    Ok(excel_rows(bytes)?
        .into_iter()
        .map(|(row, cells)| {
            let text = cells
                .into_iter()
                .map(|c| match c {
                    Data::Empty => String::new(),
                    Data::String(s) => s,
                    Data::Int(n) => n.to_string(),
                    // A code typed as a number: 330281002.0 shows as 330281002.
                    Data::Float(f) => f.to_string(),
                    Data::DateTime(d) => d.as_datetime().map_or_else(
                        || d.as_f64().to_string(),
                        |t| t.format("%Y-%m-%d").to_string(),
                    ),
                    other => other.to_string(),
                })
                .collect();
            (row, text)
        })
        .collect())
}

/// The most cells the rows of one imported sheet may hold, counting the empty cells
/// left of each row's last one. Far above any real import (a petition export of a
/// year is some 10,000 rows of 30 columns), and low enough that the rows fit in memory.
pub const EXCEL_MAX_CELLS: usize = 5_000_000;

/// The most bytes of text the cells of one imported sheet may hold: an xlsx stores a
/// text once and lets any number of cells point at it, so a small file can name a long
/// text a million times.
pub const EXCEL_MAX_TEXT_BYTES: usize = 100_000_000;

/// The first worksheet of an Excel file as rows of cells: each row with its number as
/// Excel shows it and its cells by column (empty ones where nothing is), rows without
/// any value left out.
///
/// An xlsx is read cell by cell: a dense grid of the sheet's used range, which is
/// what `Range` holds, lets a 6 KB file with one cell in A1 and one in XFD1048576 ask
/// for half a terabyte and abort the process. Here memory follows the cells actually
/// there, and a sheet whose rows would exceed [`EXCEL_MAX_CELLS`] or whose texts
/// [`EXCEL_MAX_TEXT_BYTES`] is refused.
pub(crate) fn excel_rows(bytes: &[u8]) -> Result<Vec<(usize, Vec<calamine::Data>)>, FileError> {
    use calamine::{Data, DataRef, Reader, Xlsx, XlsxError, open_workbook_auto_from_rs};
    use std::collections::BTreeMap;

    let too_large = || {
        FileError::Excel(format!(
            "工作表过大（超过 {EXCEL_MAX_CELLS} 个单元格或 {} MB 文字），请删去无关的行和列后重新导出",
            EXCEL_MAX_TEXT_BYTES / 1_000_000
        ))
    };
    let Ok(mut xlsx) = Xlsx::new(std::io::Cursor::new(bytes)) else {
        // xls, xlsb, ods: calamine reads those into a `Range` itself.
        let mut wb = open_workbook_auto_from_rs(std::io::Cursor::new(bytes))
            .map_err(|e| FileError::Excel(e.to_string()))?;
        let range = wb
            .worksheet_range_at(0)
            .ok_or_else(|| FileError::Excel("文件中没有工作表".into()))?
            .map_err(|e| FileError::Excel(e.to_string()))?;
        let (first_row, first_col) = range
            .start()
            .map_or((0, 0), |(r, c)| (r as usize, c as usize));
        if range.height().saturating_mul(first_col + range.width()) > EXCEL_MAX_CELLS {
            return Err(too_large());
        }
        return Ok(range
            .rows()
            .enumerate()
            .filter(|(_, cells)| cells.iter().any(|c| *c != Data::Empty))
            .map(|(i, cells)| {
                // Cells left of the used range are empty: keep positions as in Excel.
                let mut out = vec![Data::Empty; first_col];
                out.extend(cells.iter().cloned());
                (first_row + i + 1, out)
            })
            .collect());
    };
    let first = xlsx
        .sheet_names()
        .first()
        .cloned()
        .ok_or_else(|| FileError::Excel("文件中没有工作表".into()))?;
    let mut reader = match xlsx.worksheet_cells_reader(&first) {
        Ok(r) => r,
        // A chart sheet first: no cells, as calamine's own range has none.
        Err(XlsxError::NotAWorksheet(_)) => return Ok(Vec::new()),
        Err(e) => return Err(FileError::Excel(e.to_string())),
    };
    let mut rows: BTreeMap<u32, BTreeMap<u32, Data>> = BTreeMap::new();
    // Cells the rows hold so far, as their widths (last column + 1) add up, and the
    // bytes of their texts, counted before a shared text is copied into a cell.
    let (mut held, mut text) = (0usize, 0usize);
    while let Some(cell) = reader
        .next_cell()
        .map_err(|e| FileError::Excel(e.to_string()))?
    {
        text += match cell.get_value() {
            DataRef::SharedString(s) => s.len(),
            DataRef::String(s) | DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => s.len(),
            _ => 0,
        };
        if text > EXCEL_MAX_TEXT_BYTES {
            return Err(too_large());
        }
        let value = Data::from(cell.get_value().clone());
        if value == Data::Empty {
            continue;
        }
        let (r, c) = cell.get_position();
        let row = rows.entry(r).or_default();
        let width = row
            .last_key_value()
            .map_or(0, |(last, _)| *last as usize + 1);
        held = held - width + width.max(c as usize + 1);
        if held > EXCEL_MAX_CELLS {
            return Err(too_large());
        }
        row.insert(c, value);
    }
    Ok(rows
        .into_iter()
        .map(|(r, cells)| {
            let width = cells
                .last_key_value()
                .map_or(0, |(last, _)| *last as usize + 1);
            let mut out = vec![Data::Empty; width];
            for (c, v) in cells {
                out[c as usize] = v;
            }
            (r as usize + 1, out)
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

    fn xlsx(cells: &[(u32, u16, &str)]) -> Vec<u8> {
        let mut wb = rust_xlsxwriter::Workbook::new();
        let ws = wb.add_worksheet();
        for (r, c, v) in cells {
            ws.write_string(*r, *c, *v).unwrap();
        }
        wb.save_to_buffer().unwrap()
    }

    /// A 6 KB file with cells in A1 and XFD1048576 made calamine's dense `Range` ask
    /// for 512 GiB, and the failed allocation aborted the whole process (the server's
    /// routing import, `zhili import petitions|survey`). Found while seeding the
    /// spreadsheet fuzz targets (docs/fuzzing.md); the petition_sheet target's binary
    /// crashed on it.
    #[test]
    fn a_sheet_spanning_all_of_excel_is_read_by_its_cells() {
        let huge = xlsx(&[
            (0, 0, "信访件编号"),
            (0, 1, "信访内容"),
            (1, 0, "XF-1"),
            (1, 1, "噪音"),
            (1_048_575, 16_383, "x"),
        ]);
        assert!(huge.len() < 10_000);
        let sheet = petition::Sheet::read(&huge).unwrap();
        let now = chrono::Utc::now();
        let rows: Vec<_> = sheet.rows(now).collect();
        assert_eq!(rows.len(), 2);
        assert!(rows[0].is_ok());
        assert_eq!(rows[1].as_ref().unwrap_err().row, 1_048_576);
        assert!(matches!(
            routing::read(&huge),
            Err(FileError::MissingColumn { .. })
        ));
        // Many rows, each with one far cell: refused as the rows grow, not after.
        let tall: Vec<(u32, u16, &str)> = (0..400).map(|r| (r, 16_383, "x")).collect();
        let e = excel_rows(&xlsx(&tall)).unwrap_err();
        assert!(
            matches!(&e, FileError::Excel(m) if m.contains("过大")),
            "{e}"
        );
    }

    /// A cell reference of thirteen letters (`DficeDocument1I`) overflowed calamine's
    /// column arithmetic (calamine #709, unreleased fix #696): a panic where overflow
    /// checks are on, a wrapped column where not. Found by the petition_sheet,
    /// survey_import and routing_rules fuzz targets (docs/fuzzing.md). Every build
    /// of ours now compiles calamine without overflow checks, as a release build
    /// does (Cargo.toml), so the file is read or refused, never a panic.
    #[test]
    fn an_overlong_cell_reference_is_no_panic() {
        let bytes = include_bytes!("../testdata/long-cell-reference.xlsx");
        let _ = excel_rows(bytes);
        let _ = petition::Sheet::read(bytes);
        let _ = routing::read(bytes);
    }

    #[test]
    fn excel_rows_keep_columns_and_excel_row_numbers() {
        let rows = excel_rows(&xlsx(&[(2, 3, "d3"), (2, 1, "b3"), (5, 0, "a6")])).unwrap();
        assert_eq!(rows.len(), 2, "blank rows are left out");
        assert_eq!(rows[0].0, 3);
        assert_eq!(
            rows[0].1,
            [
                calamine::Data::Empty,
                calamine::Data::String("b3".into()),
                calamine::Data::Empty,
                calamine::Data::String("d3".into()),
            ]
        );
        assert_eq!(rows[1], (6, vec![calamine::Data::String("a6".into())]));
    }
}
