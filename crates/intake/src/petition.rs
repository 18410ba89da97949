//! Petition (信访) export files (D1): the petition system exports its cases as Excel
//! (.xlsx/.xls) or CSV, the CSV often in GBK as Chinese Excel saves it. Columns are
//! found by their Chinese header, not by position, since every export template orders
//! them differently and adds columns of its own (those are ignored). Each data row
//! becomes a [`NewEvent`] of the petition channel keyed by the petition number, or a
//! [`RowError`] naming the row as Excel shows it, the column and the reason.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use zhili_domain::{Channel, NewEvent, RawNewEvent, RawReporter};

use crate::{FileError, RowError, decode_text};

/// The columns zhili reads from a petition export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Column {
    Number,
    Date,
    Name,
    Phone,
    IdNumber,
    Area,
    Address,
    Content,
    Category,
}

impl Column {
    pub const ALL: [Column; 9] = [
        Column::Number,
        Column::Date,
        Column::Name,
        Column::Phone,
        Column::IdNumber,
        Column::Area,
        Column::Address,
        Column::Content,
        Column::Category,
    ];

    /// The header zhili's documentation and messages use.
    pub fn header(self) -> &'static str {
        match self {
            Column::Number => "信访件编号",
            Column::Date => "来信来访日期",
            Column::Name => "信访人姓名",
            Column::Phone => "联系电话",
            Column::IdNumber => "身份证号",
            Column::Area => "问题属地",
            Column::Address => "详细地址",
            Column::Content => "信访内容",
            Column::Category => "问题类别",
        }
    }

    /// Other headers petition systems use for the same column, best match first.
    pub fn synonyms(self) -> &'static [&'static str] {
        match self {
            Column::Number => &[
                "信访编号",
                "信访件号",
                "信访事项编号",
                "件编号",
                "登记编号",
                "编号",
            ],
            Column::Date => &[
                "信访日期",
                "来信日期",
                "来访日期",
                "登记日期",
                "受理日期",
                "登记时间",
                "信访时间",
            ],
            Column::Name => &["信访人", "来访人", "反映人", "姓名"],
            Column::Phone => &["联系方式", "手机号码", "手机号", "手机", "电话号码", "电话"],
            Column::IdNumber => &["身份证号码", "公民身份号码", "证件号码", "身份证"],
            Column::Area => &[
                "属地",
                "问题发生地",
                "所属乡镇",
                "所属乡镇(街道)",
                "乡镇(街道)",
                "乡镇街道",
                "所属街道",
            ],
            Column::Address => &["地址", "问题地址", "发生地址", "事发地址"],
            Column::Content => &[
                "主要内容",
                "反映内容",
                "诉求内容",
                "信访事项",
                "事项内容",
                "主要诉求",
                "内容",
            ],
            Column::Category => &["问题分类", "事件类别", "类别", "问题类型", "内容分类"],
        }
    }

    pub fn required(self) -> bool {
        matches!(self, Column::Number | Column::Content)
    }

    /// How well a (normalised) header names this column: 0 for the own header,
    /// 1.. for synonyms in order; `None` when it does not.
    fn rank(self, header: &str) -> Option<usize> {
        if header == normalise(self.header()) {
            return Some(0);
        }
        self.synonyms()
            .iter()
            .position(|s| normalise(s) == header)
            .map(|i| i + 1)
    }
}

/// The file's column name for a field the intake or storage complained about, so
/// the user is told what to fix in the terms of their spreadsheet.
pub fn column_name(intake_field: &str) -> &str {
    match intake_field {
        "external_id" => Column::Number.header(),
        "text" => Column::Content.header(),
        "reporter.name" => Column::Name.header(),
        "reporter.phone" => Column::Phone.header(),
        "address" => Column::Address.header(),
        "township" | "grid" | "area" => Column::Area.header(),
        "category" => Column::Category.header(),
        "reported_at" => Column::Date.header(),
        other => other,
    }
}

/// A header cell compared without spaces, required-markers (*), a trailing colon,
/// and with full-width brackets made ASCII.
fn normalise(h: &str) -> String {
    h.chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '*' | '＊' | '\u{feff}'))
        .map(|c| match c {
            '（' => '(',
            '）' => ')',
            c => c.to_ascii_lowercase(),
        })
        .collect::<String>()
        .trim_end_matches([':', '：'])
        .to_string()
}

/// A cell as read: CSV gives text only; Excel also gives numbers and dates.
#[derive(Debug, Clone, PartialEq)]
enum Cell {
    Empty,
    Text(String),
    Number(f64),
    Date(NaiveDateTime),
}

impl Cell {
    fn is_blank(&self) -> bool {
        match self {
            Cell::Empty => true,
            Cell::Text(s) => s.trim().is_empty(),
            _ => false,
        }
    }
}

/// A petition export with its header matched, ready to be turned into events.
#[derive(Debug)]
pub struct Sheet {
    columns: HashMap<Column, usize>,
    /// (row number as Excel shows it, cells), blank rows left out.
    rows: Vec<(usize, Vec<Cell>)>,
}

/// A row that became an event, with what storage still has to resolve.
#[derive(Debug, Clone, PartialEq)]
pub struct PetitionRow {
    pub row: usize,
    pub event: NewEvent,
    /// 问题属地 given as a name (凤山街道) rather than a code: storage looks it up.
    pub area_name: Option<String>,
    /// 问题类别 given as a name (噪音扰民) rather than a code: storage looks it up.
    pub category_name: Option<String>,
    /// 来信来访日期; the import time when the file has none.
    pub received_at: Option<DateTime<Utc>>,
}

/// How far down a title block may push the header row.
const HEADER_SEARCH_ROWS: usize = 10;

impl Sheet {
    /// Reads an export: Excel when the bytes are an xlsx (zip) or xls (OLE) file,
    /// CSV otherwise. The header is the first row naming any known column, so a
    /// title row above it does no harm.
    pub fn read(bytes: &[u8]) -> Result<Sheet, FileError> {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(FileError::Empty);
        }
        let rows = if bytes.starts_with(b"PK\x03\x04")
            || bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1])
        {
            read_excel(bytes)?
        } else {
            read_csv(&decode_text(bytes)?)?
        };
        Self::from_rows(rows)
    }

    fn from_rows(rows: Vec<(usize, Vec<Cell>)>) -> Result<Sheet, FileError> {
        let mut found = None;
        for (i, (_, cells)) in rows.iter().enumerate().take(HEADER_SEARCH_ROWS) {
            let columns = match_header(cells)?;
            if !columns.is_empty() {
                found = Some((i, columns));
                break;
            }
        }
        let Some((header_at, columns)) = found else {
            return Err(FileError::NoHeader {
                searched: HEADER_SEARCH_ROWS,
                example: "信访件编号、信访内容",
            });
        };
        for c in Column::ALL {
            if c.required() && !columns.contains_key(&c) {
                return Err(FileError::MissingColumn {
                    column: c.header(),
                    synonyms: c.synonyms().join("、"),
                });
            }
        }
        let rows = rows
            .into_iter()
            .skip(header_at + 1)
            .filter(|(_, cells)| !cells.iter().all(Cell::is_blank))
            .collect();
        Ok(Sheet { columns, rows })
    }

    /// Number of data rows (blank rows not counted).
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The columns found, with their 1-based position in the file.
    pub fn columns(&self) -> Vec<(Column, usize)> {
        let mut v: Vec<_> = self.columns.iter().map(|(c, i)| (*c, i + 1)).collect();
        v.sort_by_key(|(_, i)| *i);
        v
    }

    /// Each data row as an event or the reason it is refused; `now` bounds the
    /// petition date (a date in the future is a typing error).
    pub fn rows(
        &self,
        now: DateTime<Utc>,
    ) -> impl Iterator<Item = Result<PetitionRow, RowError>> + '_ {
        self.rows
            .iter()
            .map(move |(row, cells)| self.parse_row(*row, cells, now))
    }

    fn cell(&self, cells: &[Cell], c: Column) -> Cell {
        self.columns
            .get(&c)
            .and_then(|i| cells.get(*i))
            .cloned()
            .unwrap_or(Cell::Empty)
    }

    fn parse_row(
        &self,
        row: usize,
        cells: &[Cell],
        now: DateTime<Utc>,
    ) -> Result<PetitionRow, RowError> {
        let err = |c: Column, m: String| RowError::new(row, c.header(), m);
        let text = |c: Column| -> Result<Option<String>, RowError> {
            text_of(self.cell(cells, c)).map_err(|m| err(c, m))
        };
        let number = text(Column::Number)?.ok_or_else(|| err(Column::Number, "不能为空".into()))?;
        let content =
            text(Column::Content)?.ok_or_else(|| err(Column::Content, "不能为空".into()))?;
        check_id_number(self.cell(cells, Column::IdNumber))
            .map_err(|m| err(Column::IdNumber, m))?;
        let received_at = match self.cell(cells, Column::Date) {
            cell if cell.is_blank() => None,
            cell => Some(date_of(cell, now).map_err(|m| err(Column::Date, m))?),
        };
        let name = text(Column::Name)?;
        let phone = text(Column::Phone)?.map(|p| first_phone(&p));
        let (township, area_name) = match text(Column::Area)? {
            Some(a) if is_code(&a) => (Some(a), None),
            other => (None, other),
        };
        let (category, category_name) = match text(Column::Category)? {
            Some(c) if is_code(&c) => (Some(c), None),
            // "0101 噪音扰民": the code leads, the name is for people.
            Some(c) => match c.split_whitespace().next() {
                Some(code) if is_code(code) && code.chars().any(|ch| ch.is_ascii_digit()) => {
                    (Some(code.to_string()), None)
                }
                _ => (None, Some(c)),
            },
            None => (None, None),
        };
        let raw = RawNewEvent {
            channel: Channel::Petition.code().into(),
            external_id: Some(number),
            reporter: Some(RawReporter {
                kind: "citizen".into(),
                name,
                phone,
            }),
            text: content,
            address: text(Column::Address)?,
            township,
            category,
            ..Default::default()
        };
        let event = NewEvent::parse(raw)
            .map_err(|e| RowError::new(row, column_name(&e.field), e.message))?;
        Ok(PetitionRow {
            row,
            event,
            area_name,
            category_name,
            received_at,
        })
    }
}

/// The known columns a header row names, by position. Of several headers naming the
/// same column the best-ranked wins; the same header twice is ambiguous.
fn match_header(cells: &[Cell]) -> Result<HashMap<Column, usize>, FileError> {
    let mut best: HashMap<Column, (usize, usize)> = HashMap::new();
    for (i, cell) in cells.iter().enumerate() {
        let Cell::Text(h) = cell else { continue };
        let h = normalise(h);
        if h.is_empty() {
            continue;
        }
        for c in Column::ALL {
            let Some(rank) = c.rank(&h) else { continue };
            match best.get(&c) {
                Some(&(r, first)) if r == rank => {
                    return Err(FileError::DuplicateColumn {
                        column: c.header(),
                        first: first + 1,
                        second: i + 1,
                    });
                }
                Some(&(r, _)) if r < rank => {}
                _ => {
                    best.insert(c, (rank, i));
                }
            }
        }
    }
    Ok(best.into_iter().map(|(c, (_, i))| (c, i)).collect())
}

/// Text of a cell, trimmed; `None` when blank. Numbers are written without a
/// fraction when whole; one too long to be exact in Excel has lost digits already.
fn text_of(cell: Cell) -> Result<Option<String>, String> {
    Ok(match cell {
        Cell::Empty => None,
        Cell::Text(s) => {
            let t = s.trim();
            if looks_like_scientific(t) {
                return Err(format!(
                    "“{t}”是被 Excel 按科学计数法显示后保存的数字，后几位已丢失；请把该列设为文本后重新导出"
                ));
            }
            (!t.is_empty()).then(|| t.to_string())
        }
        Cell::Number(f) => Some(number_text(f)?),
        Cell::Date(d) => Some(if d.time() == NaiveTime::MIN {
            d.format("%Y-%m-%d").to_string()
        } else {
            d.format("%Y-%m-%d %H:%M").to_string()
        }),
    })
}

/// Above this Excel's 15 significant digits no longer hold every integer.
const EXACT_IN_EXCEL: f64 = 1e15;

fn number_text(f: f64) -> Result<String, String> {
    if !f.is_finite() {
        return Err("不是有效的数字".into());
    }
    if f.fract() == 0.0 {
        if f.abs() >= EXACT_IN_EXCEL {
            return Err(
                "Excel 把这个长号码存成了数字，后几位已丢失；请把该列设为文本后重新导出".into(),
            );
        }
        // Whole and below 1e15: the cast is exact.
        return Ok(format!("{}", f as i64));
    }
    Ok(f.to_string())
}

/// "3.30281E+17", as Excel shows (and saves to CSV) a long number.
fn looks_like_scientific(t: &str) -> bool {
    let Some((mantissa, exp)) = t.split_once(['E', 'e']) else {
        return false;
    };
    let exp = exp.strip_prefix('+').unwrap_or(exp);
    !mantissa.is_empty()
        && mantissa.chars().all(|c| c.is_ascii_digit() || c == '.')
        && mantissa.chars().filter(|c| *c == '.').count() <= 1
        && !exp.is_empty()
        && exp.chars().all(|c| c.is_ascii_digit())
}

/// A code rather than a name: what `NewEvent` accepts in its code fields.
fn is_code(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// Petition systems often put several numbers in one cell; the first is the one to call.
fn first_phone(p: &str) -> String {
    p.split(['/', ',', '，', ';', '；', '、'])
        .map(str::trim)
        .find(|s| !s.is_empty())
        .unwrap_or("")
        .to_string()
}

/// The ID number is checked (a wrong one points to a shifted column) but never
/// stored: zhili has no need for it. A number cell has lost its last digits in
/// Excel, which is refused so the user fixes the export rather than the data.
fn check_id_number(cell: Cell) -> Result<(), String> {
    match cell {
        Cell::Empty => Ok(()),
        Cell::Number(_) => {
            Err("身份证号被 Excel 存成了数字，后几位已丢失；请把该列设为文本后重新导出".into())
        }
        Cell::Date(_) => Err("不是有效的身份证号".into()),
        Cell::Text(s) => {
            let t: String = s.chars().filter(|c| !c.is_whitespace()).collect();
            if t.is_empty() {
                return Ok(());
            }
            if looks_like_scientific(&t) {
                return Err(
                    "身份证号被 Excel 按科学计数法保存，后几位已丢失；请把该列设为文本后重新导出"
                        .into(),
                );
            }
            id_number_ok(&t)
        }
    }
}

/// GB 11643: 17 digits and a check character, or a first-generation 15-digit number.
fn id_number_ok(t: &str) -> Result<(), String> {
    let b = t.as_bytes();
    if b.len() == 15 && b.iter().all(u8::is_ascii_digit) {
        return Ok(());
    }
    if b.len() != 18 || !b[..17].iter().all(u8::is_ascii_digit) {
        return Err("身份证号应为 18 位（末位可为 X）".into());
    }
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const CHECK: &[u8; 11] = b"10X98765432";
    let sum: u32 = b[..17]
        .iter()
        .zip(WEIGHTS)
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    let expected = CHECK[(sum % 11) as usize];
    if b[17].to_ascii_uppercase() == expected {
        Ok(())
    } else {
        Err("身份证号校验位不正确".into())
    }
}

/// The petition date, taken in China time; a date alone means the start of that day.
fn date_of(cell: Cell, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    let local = match cell {
        Cell::Date(d) => d,
        Cell::Text(s) => parse_date_text(s.trim()).ok_or_else(|| {
            format!(
                "无法识别的日期“{}”，请写作 2026-11-28 或 2026-11-28 09:30",
                s.trim()
            )
        })?,
        // 20261128 typed as a number.
        Cell::Number(f) => number_text(f)
            .ok()
            .and_then(|t| parse_date_text(&t))
            .ok_or("日期被存成了数字，请把该列设为日期或文本")?,
        Cell::Empty => return Err("不能为空".into()),
    };
    let china = chrono::FixedOffset::east_opt(8 * 3600).ok_or("时区错误")?;
    let at = china
        .from_local_datetime(&local)
        .single()
        .ok_or("无法识别的日期")?
        .with_timezone(&Utc);
    if at > now {
        return Err(format!("日期 {} 晚于今天", local.format("%Y-%m-%d")));
    }
    Ok(at)
}

fn parse_date_text(s: &str) -> Option<NaiveDateTime> {
    // 2026年11月28日 → 2026-11-28; '/' and '.' as separators too.
    let s: String = s
        .replace(['年', '月'], "-")
        .replace('日', " ")
        .replace(['/', '.'], "-")
        .replace('T', " ");
    let s = s.trim();
    for f in ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M"] {
        if let Ok(d) = NaiveDateTime::parse_from_str(s, f) {
            return Some(d);
        }
    }
    for f in ["%Y-%m-%d", "%Y%m%d"] {
        if let Ok(d) = NaiveDate::parse_from_str(s, f) {
            return Some(d.and_time(NaiveTime::MIN));
        }
    }
    None
}

/// CSV records with the row number Excel shows for each: the file's line number
/// less the line breaks inside quoted cells of earlier records.
fn read_csv(text: &str) -> Result<Vec<(usize, Vec<Cell>)>, FileError> {
    let first_line = text.lines().next().unwrap_or("");
    let delimiter = if first_line.contains('\t') && !first_line.contains(',') {
        b'\t'
    } else {
        b','
    };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut rows = Vec::new();
    let mut inner_breaks = 0usize;
    for (i, record) in reader.records().enumerate() {
        let record = record.map_err(|e| FileError::Csv(e.to_string()))?;
        let line = record.position().map_or(i + 1, |p| p.line() as usize);
        rows.push((
            line.saturating_sub(inner_breaks).max(1),
            record
                .iter()
                .map(|c| {
                    if c.is_empty() {
                        Cell::Empty
                    } else {
                        Cell::Text(c.to_string())
                    }
                })
                .collect(),
        ));
        inner_breaks += record
            .iter()
            .map(|c| c.matches('\n').count())
            .sum::<usize>();
    }
    Ok(rows)
}

/// The first worksheet, with rows numbered as Excel numbers them.
fn read_excel(bytes: &[u8]) -> Result<Vec<(usize, Vec<Cell>)>, FileError> {
    use calamine::Data;
    Ok(crate::excel_rows(bytes)?
        .into_iter()
        .map(|(row, cells)| {
            let cells = cells
                .into_iter()
                .map(|c| match c {
                    Data::Empty => Cell::Empty,
                    Data::String(s) => Cell::Text(s),
                    Data::Int(n) => Cell::Text(n.to_string()),
                    Data::Float(f) => Cell::Number(f),
                    Data::Bool(b) => Cell::Text(if b { "是" } else { "否" }.into()),
                    Data::DateTime(d) => d
                        .as_datetime()
                        .map_or_else(|| Cell::Number(d.as_f64()), Cell::Date),
                    Data::DateTimeIso(s) | Data::DurationIso(s) => Cell::Text(s),
                    Data::Error(e) => Cell::Text(format!("#{e}")),
                })
                .collect();
            (row, cells)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use zhili_domain::ReporterKind;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 30, 0, 0, 0).unwrap()
    }

    fn rows(bytes: &[u8]) -> Vec<Result<PetitionRow, RowError>> {
        Sheet::read(bytes).unwrap().rows(now()).collect()
    }

    const CSV: &str = "\
信访件编号,来信来访日期,信访人姓名,联系电话,身份证号,问题属地,详细地址,信访内容,问题类别
XF2026-001,2026-11-20,张三,13812345678,11010519491231002X,凤山街道,舜北路12号,小区门口夜间施工噪音扰民,0101
XF2026-002,2026/11/21 09:30,李四,12345,,330281001,,楼道堆放杂物,
";

    #[test]
    fn a_utf8_csv_becomes_petition_events_with_excel_row_numbers() {
        let r = rows(CSV.as_bytes());
        assert_eq!(r.len(), 2);
        let first = r[0].as_ref().unwrap();
        assert_eq!(first.row, 2);
        assert_eq!(first.event.channel, Channel::Petition);
        assert_eq!(first.event.external_id.as_deref(), Some("XF2026-001"));
        assert_eq!(first.event.reporter_kind, ReporterKind::Citizen);
        assert_eq!(first.event.text.as_str(), "小区门口夜间施工噪音扰民");
        assert_eq!(first.event.category_code.as_deref(), Some("0101"));
        assert_eq!(first.area_name.as_deref(), Some("凤山街道"));
        assert_eq!(first.event.township_code, None);
        assert_eq!(
            first.received_at,
            Some(Utc.with_ymd_and_hms(2026, 11, 19, 16, 0, 0).unwrap())
        );
        // Row 3 has a bad phone: refused with its row and the column's Chinese name.
        let bad = r[1].as_ref().unwrap_err();
        assert_eq!((bad.row, bad.field.as_str()), (3, "联系电话"), "{bad}");
        assert_eq!(
            bad.to_string(),
            format!("第 3 行 · 联系电话: {}", bad.message)
        );
    }

    #[test]
    fn a_bom_and_gbk_are_both_read() {
        let with_bom = [b"\xEF\xBB\xBF".as_slice(), CSV.as_bytes()].concat();
        assert!(rows(&with_bom)[0].is_ok());
        let (gbk, _, _) = encoding_rs::GBK.encode(CSV);
        let r = rows(&gbk);
        let first = r[0].as_ref().unwrap();
        assert_eq!(first.event.text.as_str(), "小区门口夜间施工噪音扰民");
        assert_eq!(
            first.event.reporter_name.as_ref().map(|n| n.as_str()),
            Some("张三")
        );
    }

    #[test]
    fn headers_are_matched_by_name_with_synonyms_in_any_order() {
        let csv = "\
信访件受理登记表,,,
 内容 ,编号,手机,属地（乡镇）,办理状态
路灯不亮,A-1,0574-62345678 / 13812345678,凤山街道,已办结
";
        let sheet = Sheet::read(csv.as_bytes()).unwrap();
        let r: Vec<_> = sheet.rows(now()).collect();
        let row = r[0].as_ref().unwrap();
        assert_eq!(
            row.row, 3,
            "a title row above the header keeps Excel's numbering"
        );
        assert_eq!(row.event.external_id.as_deref(), Some("A-1"));
        assert_eq!(row.event.text.as_str(), "路灯不亮");
        assert_eq!(
            row.event.reporter_phone.as_ref().map(|p| p.as_str()),
            Some("057462345678"),
            "the first of several numbers"
        );
        // "属地（乡镇）" is not a known header: no area, and no error for it.
        assert_eq!(row.area_name, None);
    }

    #[test]
    fn a_missing_required_column_is_one_file_error_naming_it() {
        let err = Sheet::read("信访件编号,姓名\nA-1,张三\n".as_bytes()).unwrap_err();
        assert!(
            matches!(&err, FileError::MissingColumn { column, .. } if *column == "信访内容"),
            "{err}"
        );
        assert!(err.to_string().contains("信访内容"), "{err}");
        let err = Sheet::read("a,b\n1,2\n".as_bytes()).unwrap_err();
        assert!(matches!(err, FileError::NoHeader { .. }), "{err}");
        let err = Sheet::read("编号,内容,编号\n1,x,2\n".as_bytes()).unwrap_err();
        assert!(matches!(err, FileError::DuplicateColumn { .. }), "{err}");
        // Synonyms of different rank: the better one wins, no error.
        let s = Sheet::read("编号,信访件编号,内容\n1,XF-9,路灯坏了\n".as_bytes()).unwrap();
        let r = s.rows(now()).next().unwrap().unwrap();
        assert_eq!(r.event.external_id.as_deref(), Some("XF-9"));
    }

    #[test]
    fn each_bad_cell_is_named_with_its_row() {
        let csv = "\
信访件编号,信访内容,来信来访日期,身份证号,问题类别
,没有编号,,,
B-2,,,,
B-3,日期在将来,2027-01-01,,
B-4,日期看不懂,下周一,,
B-5,身份证校验位错,,110105194912310021,
B-6,身份证被科学计数法,,1.10105E+17,
B-7,类别按名称,,,城市管理/噪音扰民
B-8,类别带名称,,,0102 违章搭建
";
        let r = rows(csv.as_bytes());
        let err = |i: usize| r[i].as_ref().unwrap_err().clone();
        assert_eq!((err(0).row, err(0).field.as_str()), (2, "信访件编号"));
        assert_eq!((err(1).row, err(1).field.as_str()), (3, "信访内容"));
        assert_eq!((err(2).row, err(2).field.as_str()), (4, "来信来访日期"));
        assert!(err(2).message.contains("晚于今天"), "{}", err(2));
        assert_eq!(err(3).field, "来信来访日期");
        assert_eq!(
            (err(4).field.as_str(), err(4).message.as_str()),
            ("身份证号", "身份证号校验位不正确")
        );
        assert!(err(5).message.contains("科学计数法"), "{}", err(5));
        let by_name = r[6].as_ref().unwrap();
        assert_eq!(by_name.category_name.as_deref(), Some("城市管理/噪音扰民"));
        assert_eq!(by_name.event.category_code, None);
        let coded = r[7].as_ref().unwrap();
        assert_eq!(coded.event.category_code.as_deref(), Some("0102"));
        assert_eq!(coded.event.reporter_name, None);
    }

    #[test]
    fn line_breaks_inside_cells_do_not_shift_row_numbers() {
        let csv = "信访件编号,信访内容\nA-1,\"第一行\n第二行\n第三行\"\nA-2,\n";
        let r = rows(csv.as_bytes());
        assert!(r[0].is_ok());
        assert_eq!(r[1].as_ref().unwrap_err().row, 3);
    }

    #[test]
    fn id_numbers_follow_gb11643() {
        assert!(id_number_ok("11010519491231002X").is_ok());
        assert!(id_number_ok("11010519491231002x").is_ok());
        assert!(id_number_ok("110105491231002").is_ok());
        assert!(id_number_ok("110105194912310021").is_err());
        assert!(id_number_ok("1101051949").is_err());
    }

    fn xlsx(build: impl FnOnce(&mut rust_xlsxwriter::Worksheet)) -> Vec<u8> {
        let mut wb = rust_xlsxwriter::Workbook::new();
        build(wb.add_worksheet());
        wb.save_to_buffer().unwrap()
    }

    #[test]
    fn an_xlsx_export_is_read_with_numbers_and_dates() {
        use rust_xlsxwriter::{ExcelDateTime, Format};
        let bytes = xlsx(|ws| {
            let headers = [
                "信访件编号",
                "信访日期",
                "信访人",
                "联系电话",
                "身份证号",
                "信访内容",
            ];
            for (i, h) in headers.iter().enumerate() {
                ws.write_string(0, i as u16, *h).unwrap();
            }
            let date = Format::new().set_num_format("yyyy-mm-dd");
            // Row 2: numbers where Excel users leave them, a real date cell.
            ws.write_number(1, 0, 20261101.0).unwrap();
            ws.write_datetime_with_format(
                1,
                1,
                ExcelDateTime::from_ymd(2026, 11, 2).unwrap(),
                &date,
            )
            .unwrap();
            ws.write_string(1, 2, "王五").unwrap();
            ws.write_number(1, 3, 13812345678.0).unwrap();
            ws.write_string(1, 4, "11010519491231002X").unwrap();
            ws.write_string(1, 5, "河道有人倾倒垃圾").unwrap();
            // Row 3: the ID number typed as a number has lost its last digits.
            ws.write_string(2, 0, "XF-3").unwrap();
            ws.write_number(2, 4, 110105194912310020.0).unwrap();
            ws.write_string(2, 5, "噪音").unwrap();
            // Row 5 (after a blank row 4): a bad phone.
            ws.write_string(4, 0, "XF-5").unwrap();
            ws.write_string(4, 3, "电话待补").unwrap();
            ws.write_string(4, 5, "路面塌陷").unwrap();
        });
        let r = rows(&bytes);
        assert_eq!(r.len(), 3);
        let ok = r[0].as_ref().unwrap();
        assert_eq!(ok.row, 2);
        assert_eq!(ok.event.external_id.as_deref(), Some("20261101"));
        assert_eq!(
            ok.event.reporter_phone.as_ref().map(|p| p.as_str()),
            Some("13812345678")
        );
        assert_eq!(
            ok.received_at,
            Some(Utc.with_ymd_and_hms(2026, 11, 1, 16, 0, 0).unwrap())
        );
        let id = r[1].as_ref().unwrap_err();
        assert_eq!((id.row, id.field.as_str()), (3, "身份证号"));
        assert!(id.message.contains("存成了数字"), "{id}");
        let phone = r[2].as_ref().unwrap_err();
        assert_eq!((phone.row, phone.field.as_str()), (5, "联系电话"));
    }

    #[test]
    fn not_a_spreadsheet_at_all() {
        assert_eq!(Sheet::read(b"").unwrap_err(), FileError::Empty);
        assert!(matches!(
            Sheet::read(b"PK\x03\x04garbage").unwrap_err(),
            FileError::Excel(_)
        ));
        assert_eq!(
            Sheet::read(&[0x81, 0x20, 0xff]).unwrap_err(),
            FileError::Encoding
        );
    }

    #[test]
    fn storage_fields_map_back_to_columns() {
        assert_eq!(column_name("township"), "问题属地");
        assert_eq!(column_name("category"), "问题类别");
        assert_eq!(column_name("external_id"), "信访件编号");
    }
}
