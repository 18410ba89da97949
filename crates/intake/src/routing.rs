//! Routing-matrix files (分派规则, H3): Excel (or CSV, UTF-8 or GBK), one rule a row
//! with 类别编码, 区域编码 (blank for the whole city), 主办单位编码, 协办单位编码
//! (several separated by ；or ,), 层级 and 备注. The name columns an export writes
//! (类别名称, 区域名称, 主办单位) are for people and ignored here. Every row is read or
//! refused with its row number; checks against the reference data happen in storage.

use crate::{FileError, RowError};

/// One readable row, by codes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleRow {
    pub row: usize,
    pub category: String,
    /// `None` when blank: the whole city.
    pub area: Option<String>,
    pub lead_unit: String,
    pub assisting_units: Vec<String>,
    /// As written (网格, 村社区, 乡镇街道, 市, or a code); checked in storage.
    pub level: String,
    pub note: Option<String>,
}

/// The header of an exported file, in order.
pub const HEADERS: [&str; 9] = [
    "类别编码",
    "类别名称",
    "区域编码",
    "区域名称",
    "主办单位编码",
    "主办单位",
    "协办单位编码",
    "层级",
    "备注",
];

/// The columns read, each with the names accepted in a header, and whether the
/// file must have it.
const COLUMNS: [(&str, &[&str], bool); 6] = [
    ("类别编码", &["类别编码", "小类编码", "category"], true),
    ("区域编码", &["区域编码", "区划代码", "area"], true),
    ("主办单位编码", &["主办单位编码", "lead_unit"], true),
    ("协办单位编码", &["协办单位编码", "assisting_units"], false),
    ("层级", &["层级", "办理层级", "level"], true),
    ("备注", &["备注", "note"], false),
];

/// The storage field each column feeds, for mapping refusals back to columns.
pub const FIELDS: [(&str, &str); 6] = [
    ("category", "类别编码"),
    ("area", "区域编码"),
    ("lead_unit", "主办单位编码"),
    ("assisting_units", "协办单位编码"),
    ("level", "层级"),
    ("note", "备注"),
];

/// The column name of a storage field (`lead_unit` → 主办单位编码).
pub fn column_name(field: &str) -> &str {
    FIELDS
        .iter()
        .find(|(f, _)| *f == field)
        .map_or(field, |(_, c)| c)
}

/// The storage field of a column name (主办单位编码 → `lead_unit`).
pub fn field_name(column: &str) -> &str {
    FIELDS
        .iter()
        .find(|(_, c)| *c == column)
        .map_or(column, |(f, _)| f)
}

/// The separator an export writes between assisting units.
pub const UNIT_SEPARATOR: &str = "；";

/// Splits a cell of unit codes on ；;，,、 and whitespace.
pub fn split_units(cell: &str) -> Vec<String> {
    cell.split(|c: char| matches!(c, '；' | ';' | '，' | ',' | '、') || c.is_whitespace())
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// Reads a matrix file: every data row, read or refused.
pub fn read(bytes: &[u8]) -> Result<Vec<Result<RuleRow, RowError>>, FileError> {
    let mut rows = crate::read_rows(bytes)?.into_iter();
    let (_, header) = rows.next().ok_or(FileError::Empty)?;
    let mut at = [None; 6];
    for (i, (name, synonyms, required)) in COLUMNS.iter().enumerate() {
        let found: Vec<usize> = header
            .iter()
            .enumerate()
            .filter(|(_, h)| synonyms.contains(&h.trim()))
            .map(|(j, _)| j)
            .collect();
        match found.as_slice() {
            [] if *required => {
                return Err(FileError::MissingColumn {
                    column: name,
                    synonyms: synonyms.join("、"),
                });
            }
            [] => {}
            [one] => at[i] = Some(*one),
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
            let cell = |i: usize| {
                at[i]
                    .and_then(|j| cells.get(j))
                    .map_or("", |s| s.trim())
                    .to_string()
            };
            let required = |i: usize| {
                let v = cell(i);
                if v.is_empty() {
                    Err(RowError::new(row, COLUMNS[i].0, "不能为空"))
                } else {
                    Ok(v)
                }
            };
            let area = cell(1);
            let note = cell(5);
            Ok(RuleRow {
                row,
                category: required(0)?,
                area: (!area.is_empty() && area != "全市").then_some(area),
                lead_unit: required(2)?,
                assisting_units: split_units(&cell(3)),
                level: required(4)?,
                note: (!note.is_empty()).then_some(note),
            })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_read_or_refused_with_their_numbers() {
        let csv = "类别编码,类别名称,区域编码,主办单位编码,协办单位编码,层级,备注\n\
                   0101,噪音扰民,,D-ZJ,D-GA；S-1,乡镇街道,夜间优先\n\
                   0102,违章搭建,330281002,S-330281002-ZFZD,,网格,\n\
                   ,,330281002,D-ZJ,,市,\n\
                   0103,x,全市,D-ZJ,\"D-GA, D-SJ\",,\n";
        let rows = read(csv.as_bytes()).unwrap();
        assert_eq!(rows.len(), 4);
        let first = rows[0].as_ref().unwrap();
        assert_eq!(first.area, None);
        assert_eq!(first.assisting_units, ["D-GA", "S-1"]);
        assert_eq!(first.note.as_deref(), Some("夜间优先"));
        assert_eq!(rows[1].as_ref().unwrap().area.as_deref(), Some("330281002"));
        let e = rows[2].as_ref().unwrap_err();
        assert_eq!((e.row, e.field.as_str()), (4, "类别编码"));
        assert_eq!(rows[3].as_ref().unwrap_err().field, "层级");
    }

    #[test]
    fn a_missing_column_is_named() {
        let e = read("类别编码,区域编码,层级\n0101,,市\n".as_bytes()).unwrap_err();
        assert!(e.to_string().contains("主办单位编码"), "{e}");
    }

    #[test]
    fn units_split_on_any_separator() {
        assert_eq!(
            split_units("A；B;C，D,E、F G"),
            ["A", "B", "C", "D", "E", "F", "G"]
        );
        assert!(split_units("  ").is_empty());
    }
}
