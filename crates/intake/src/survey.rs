//! Survey result files (知晓率, 参与率): CSV (UTF-8 or GBK) or Excel, one row per
//! area and month with 区域编码, 月份, 受访人数, 知晓人数, 参与人数. Every row is
//! read or refused with its row number; checks against the areas happen in storage.

use crate::{FileError, RowError};

/// One readable row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SurveyLine {
    pub row: usize,
    pub area_code: String,
    /// YYYY-MM as written (checked in storage).
    pub month: String,
    pub respondents: i64,
    pub aware: i64,
    pub participated: i64,
}

/// The columns, each with the names accepted in a header.
const COLUMNS: [(&str, &[&str]); 5] = [
    ("区域编码", &["区域编码", "区划代码", "area_code", "area"]),
    ("月份", &["月份", "调查月份", "month"]),
    ("受访人数", &["受访人数", "样本量", "respondents"]),
    ("知晓人数", &["知晓人数", "aware"]),
    ("参与人数", &["参与人数", "participated"]),
];

/// The storage field each column feeds, for mapping refusals back to columns.
pub const FIELDS: [(&str, &str); 5] = [
    ("area_code", "区域编码"),
    ("month", "月份"),
    ("respondents", "受访人数"),
    ("aware", "知晓人数"),
    ("participated", "参与人数"),
];

/// The column name of a storage field (`aware` → 知晓人数).
pub fn column_name(field: &str) -> &str {
    FIELDS
        .iter()
        .find(|(f, _)| *f == field)
        .map_or(field, |(_, c)| c)
}

/// Reads a survey file: every data row, read or refused.
pub fn read(bytes: &[u8]) -> Result<Vec<Result<SurveyLine, RowError>>, FileError> {
    let mut rows = crate::read_rows(bytes)?.into_iter();
    let (_, header) = rows.next().ok_or(FileError::Empty)?;
    let mut at = [usize::MAX; 5];
    for (i, (name, synonyms)) in COLUMNS.iter().enumerate() {
        let found: Vec<usize> = header
            .iter()
            .enumerate()
            .filter(|(_, h)| synonyms.contains(&h.trim()))
            .map(|(j, _)| j)
            .collect();
        match found.as_slice() {
            [] => {
                return Err(FileError::MissingColumn {
                    column: name,
                    synonyms: synonyms.join("、"),
                });
            }
            [one] => at[i] = *one,
            [a, b, ..] => {
                return Err(FileError::DuplicateColumn {
                    column: name,
                    first: a + 1,
                    second: b + 1,
                });
            }
        }
    }
    Ok(rows
        .filter(|(_, cells)| !cells.iter().all(|c| c.trim().is_empty()))
        .map(|(row, cells)| {
            let cell = |i: usize| cells.get(at[i]).map_or("", |s| s.trim());
            let number = |i: usize| -> Result<i64, RowError> {
                let t = cell(i);
                // Excel gives whole numbers back as "12" or "12.0".
                let t = t.strip_suffix(".0").unwrap_or(t);
                t.parse::<i64>()
                    .ok()
                    .filter(|n| *n >= 0)
                    .ok_or_else(|| RowError::new(row, COLUMNS[i].0, format!("「{t}」不是非负整数")))
            };
            let area_code = cell(0).to_string();
            if area_code.is_empty() {
                return Err(RowError::new(row, COLUMNS[0].0, "不能为空"));
            }
            Ok(SurveyLine {
                row,
                area_code,
                month: month(cell(1)),
                respondents: number(2)?,
                aware: number(3)?,
                participated: number(4)?,
            })
        })
        .collect())
}

/// 2026-03, 2026/3, 2026年3月 → 2026-03; anything else is left for storage to refuse.
fn month(t: &str) -> String {
    let t = t.trim().trim_end_matches('月');
    let parts: Vec<&str> = t.split(['-', '/', '年', '.']).collect();
    // An Excel date cell reads as 2026-03-01: its month is what counts.
    if let [y, m] | [y, m, _] = parts.as_slice()
        && let (Ok(y), Ok(m)) = (y.parse::<i32>(), m.parse::<u32>())
        && (1..=12).contains(&m)
    {
        return format!("{y:04}-{m:02}");
    }
    t.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_read_or_refused_with_their_numbers() {
        let csv = "区域编码,月份,受访人数,知晓人数,参与人数\n\
                   330281002,2026-03,200,150,50\n\
                   330281001,2026年4月,100,60,10\n\
                   ,2026-03,1,1,1\n\
                   330281001,2026-03,十,1,1\n";
        let rows = read(csv.as_bytes()).unwrap();
        assert_eq!(rows.len(), 4);
        assert_eq!(rows[0].as_ref().unwrap().respondents, 200);
        assert_eq!(rows[1].as_ref().unwrap().month, "2026-04");
        assert_eq!(rows[2].as_ref().unwrap_err().row, 4);
        assert_eq!(rows[3].as_ref().unwrap_err().field, "受访人数");
    }

    #[test]
    fn a_missing_column_is_named() {
        let e = read("区域编码,月份,受访人数\n1,2,3\n".as_bytes()).unwrap_err();
        assert!(e.to_string().contains("知晓人数"), "{e}");
    }

    #[test]
    fn gbk_and_xlsx_are_read() {
        let csv = "区域编码,月份,受访人数,知晓人数,参与人数\n330281002,2026-03,200,150,50\n";
        let (gbk, _, _) = encoding_rs::GBK.encode(csv);
        assert_eq!(read(&gbk).unwrap()[0].as_ref().unwrap().aware, 150);

        let mut wb = rust_xlsxwriter::Workbook::new();
        let ws = wb.add_worksheet();
        for (c, h) in ["区域编码", "月份", "受访人数", "知晓人数", "参与人数"]
            .iter()
            .enumerate()
        {
            ws.write_string(0, c as u16, *h).unwrap();
        }
        ws.write_string(1, 0, "330281002").unwrap();
        ws.write_string(1, 1, "2026-03").unwrap();
        ws.write_number(1, 2, 200.0).unwrap();
        ws.write_number(1, 3, 150.0).unwrap();
        ws.write_number(1, 4, 50.0).unwrap();
        let bytes = wb.save_to_buffer().unwrap();
        let rows = read(&bytes).unwrap();
        assert_eq!(
            rows[0].as_ref().unwrap(),
            &SurveyLine {
                row: 2,
                area_code: "330281002".into(),
                month: "2026-03".into(),
                respondents: 200,
                aware: 150,
                participated: 50,
            }
        );
    }
}
