//! `zhili train` and `zhili eval`: train the message classifier on a labelled file and
//! measure it (on a file, or by k-fold cross-validation).
//!
//! Input files: CSV (`.csv`), TSV (`.tsv`, `.tab`, `.txt`) or Excel (`.xlsx`, `.xlsm`,
//! `.xls`, `.ods`), chosen by extension. CSV/TSV may be UTF-8 (with or without BOM)
//! or GBK/GB18030, as Chinese Excel saves them; `--encoding auto` (the default)
//! takes UTF-8 when the bytes are valid UTF-8 and GB18030 otherwise. The first row is
//! the header unless `--no-header`; columns are given by header name, or as 1-based
//! numbers (always with `--no-header`). Row numbers in messages are the rows as a
//! person counts them in the file (the header is row 1).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use zhili_nlp::{Classifier, Evaluation, Segmenter, Stage, TrainConfig, cross_validate};

/// Where the labelled examples come from.
#[derive(Debug, Args)]
pub struct InputArgs {
    /// CSV, TSV or Excel file with one example per row
    #[arg(long, value_name = "FILE")]
    pub input: PathBuf,
    /// Column with the message text: a header name, or a 1-based column number
    #[arg(long, value_name = "NAME")]
    pub text_column: String,
    /// Column with the class label: a header name, or a 1-based column number
    #[arg(long, value_name = "NAME")]
    pub label_column: String,
    /// The file has no header row: columns are 1-based numbers
    #[arg(long)]
    pub no_header: bool,
    /// Text encoding of a CSV/TSV file
    #[arg(long, value_enum, default_value_t = Encoding::Auto)]
    pub encoding: Encoding,
    /// Worksheet of an Excel file [default: the first]
    #[arg(long, value_name = "NAME")]
    pub sheet: Option<String>,
}

/// Text encodings of CSV/TSV input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Encoding {
    /// UTF-8 if the bytes are valid UTF-8, else GB18030 (a superset of GBK)
    Auto,
    /// UTF-8 (a BOM is skipped)
    Utf8,
    /// GBK / GB18030
    Gbk,
}

/// Options of model training shared by `train` and `eval --cv`.
#[derive(Debug, Args)]
pub struct ModelArgs {
    /// Cost of errors of the linear SVM (larger: fits the training data closer)
    #[arg(long, value_name = "C", default_value_t = 1.0)]
    pub c: f64,
    /// Inner cross-validation folds that calibrate the confidence (0: none)
    #[arg(long, value_name = "K", default_value_t = 3)]
    pub calibration_folds: usize,
    /// Training threads [default: all cores, at most 4]
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
}

impl ModelArgs {
    fn config(&self) -> anyhow::Result<TrainConfig> {
        if !(self.c.is_finite() && self.c > 0.0) {
            bail!("--c 必须是正数，实际为 {}", self.c);
        }
        let mut cfg = TrainConfig::default();
        cfg.solver.c = self.c;
        cfg.calibration_folds = self.calibration_folds;
        cfg.threads = self.threads.unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get().min(4))
                .unwrap_or(1)
        });
        Ok(cfg)
    }
}

/// `zhili train`
#[derive(Debug, Args)]
pub struct TrainArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// Where to write the model file
    #[arg(long, value_name = "MODEL")]
    pub output: PathBuf,
    #[command(flatten)]
    pub model: ModelArgs,
}

/// `zhili eval`
#[derive(Debug, Args)]
pub struct EvalArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// A trained model file to evaluate on the input
    #[arg(
        long,
        value_name = "MODEL",
        required_unless_present = "cv",
        conflicts_with = "cv"
    )]
    pub model: Option<PathBuf>,
    /// Instead of a model: stratified k-fold cross-validation on the input
    /// (a model is trained per fold)
    #[arg(long, value_name = "K")]
    pub cv: Option<usize>,
    /// Seed of the cross-validation folds
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    #[command(flatten)]
    pub train: ModelArgs,
}

// -------------------------------------------------------------------------------------
// reading files

/// One cell as read from the file.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// Text (every CSV/TSV cell).
    Text(String),
    /// A number stored as a number (Excel).
    Number(f64),
    /// Nothing.
    Empty,
    /// A date, boolean or error cell (Excel), shown as it reads.
    Other(String),
}

/// A table: the header (if any) and the rows with their 1-based row numbers.
#[derive(Debug, Default)]
pub struct Table {
    pub header: Option<Vec<String>>,
    pub rows: Vec<(usize, Vec<Cell>)>,
}

/// The labelled examples taken from a table.
#[derive(Debug)]
pub struct Examples {
    pub texts: Vec<String>,
    pub labels: Vec<String>,
}

fn extension(path: &Path) -> String {
    path.extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase()
}

/// Reads a CSV, TSV or Excel file by its extension.
pub fn read_table(args: &InputArgs) -> anyhow::Result<Table> {
    let path = &args.input;
    match extension(path).as_str() {
        "xlsx" | "xlsm" | "xlsb" | "xls" | "ods" => {
            read_excel(path, args.sheet.as_deref(), !args.no_header)
        }
        ext => {
            let delimiter = match ext {
                "csv" => b',',
                "tsv" | "tab" | "txt" => b'\t',
                _ => bail!(
                    "不支持的文件类型 “{}”: 请用 .csv、.tsv 或 .xlsx",
                    path.display()
                ),
            };
            let bytes =
                std::fs::read(path).with_context(|| format!("无法读取 {}", path.display()))?;
            let text = decode(&bytes, args.encoding)
                .with_context(|| format!("无法解码 {}", path.display()))?;
            parse_delimited(&text, delimiter, !args.no_header)
                .with_context(|| format!("无法解析 {}", path.display()))
        }
    }
}

/// Bytes to text: UTF-8 (BOM skipped) or GB18030.
pub fn decode(bytes: &[u8], encoding: Encoding) -> anyhow::Result<String> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let utf8 = || {
        std::str::from_utf8(bytes)
            .map(str::to_owned)
            .map_err(|e| anyhow::anyhow!("不是有效的 UTF-8 (第 {} 字节)", e.valid_up_to()))
    };
    let gbk = || {
        let (text, _, had_errors) = encoding_rs::GB18030.decode(bytes);
        if had_errors {
            bail!("既不是 UTF-8 也不是 GBK/GB18030 编码");
        }
        Ok(text.into_owned())
    };
    match encoding {
        Encoding::Utf8 => utf8(),
        Encoding::Gbk => gbk(),
        Encoding::Auto => utf8().or_else(|_| gbk()),
    }
}

/// Parses CSV/TSV text. Row numbers are the file's line numbers (a quoted field
/// spanning lines counts from its first line).
pub fn parse_delimited(text: &str, delimiter: u8, has_header: bool) -> anyhow::Result<Table> {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .quoting(delimiter != b'\t')
        .from_reader(text.as_bytes());
    let mut table = Table::default();
    for (i, record) in reader.records().enumerate() {
        let record = record?;
        let row = record.position().map_or(i + 1, |p| p.line() as usize);
        let cells: Vec<String> = record.iter().map(str::to_owned).collect();
        if i == 0 && has_header {
            table.header = Some(cells.iter().map(|c| c.trim().to_owned()).collect());
            continue;
        }
        if cells.iter().all(|c| c.trim().is_empty()) {
            continue; // a blank line
        }
        table
            .rows
            .push((row, cells.into_iter().map(Cell::Text).collect()));
    }
    Ok(table)
}

fn read_excel(path: &Path, sheet: Option<&str>, has_header: bool) -> anyhow::Result<Table> {
    use calamine::{Data, Reader, open_workbook_auto};
    let mut wb =
        open_workbook_auto(path).with_context(|| format!("无法打开 {}", path.display()))?;
    let names = wb.sheet_names();
    let name = match sheet {
        Some(s) => {
            if !names.iter().any(|n| n == s) {
                bail!(
                    "{} 中没有工作表 “{s}”（有: {}）",
                    path.display(),
                    names.join("、")
                );
            }
            s.to_owned()
        }
        None => names
            .first()
            .cloned()
            .with_context(|| format!("{} 中没有工作表", path.display()))?,
    };
    let range = wb
        .worksheet_range(&name)
        .with_context(|| format!("无法读取工作表 “{name}”"))?;
    let first_row = range.start().map_or(0, |(r, _)| r as usize);
    let first_col = range.start().map_or(0, |(_, c)| c as usize);
    let mut table = Table::default();
    for (i, cells) in range.rows().enumerate() {
        let row = first_row + i + 1;
        // Cells left of the used range are empty: keep column numbers as in Excel.
        let mut out: Vec<Cell> = vec![Cell::Empty; first_col];
        out.extend(cells.iter().map(|c| match c {
            Data::String(s) => Cell::Text(s.clone()),
            Data::Int(n) => Cell::Number(*n as f64),
            Data::Float(f) => Cell::Number(*f),
            Data::Empty => Cell::Empty,
            Data::Bool(b) => Cell::Other(b.to_string()),
            Data::DateTime(d) => Cell::Other(d.to_string()),
            Data::DateTimeIso(s) | Data::DurationIso(s) => Cell::Other(s.clone()),
            Data::Error(e) => Cell::Other(format!("{e:?}")),
        }));
        if i == 0 && has_header {
            table.header = Some(
                out.iter()
                    .map(|c| match c {
                        Cell::Text(s) | Cell::Other(s) => s.trim().to_owned(),
                        Cell::Number(n) => n.to_string(),
                        Cell::Empty => String::new(),
                    })
                    .collect(),
            );
            continue;
        }
        if out.iter().all(|c| matches!(c, Cell::Empty)) {
            continue;
        }
        table.rows.push((row, out));
    }
    Ok(table)
}

/// The 0-based index of a column given by header name or 1-based number.
fn column_index(table: &Table, spec: &str, what: &str) -> anyhow::Result<usize> {
    let spec = spec.trim();
    if let Some(header) = &table.header
        && let Some(i) = header.iter().position(|h| h == spec)
    {
        return Ok(i);
    }
    if let Ok(n) = spec.parse::<usize>()
        && n >= 1
    {
        return Ok(n - 1);
    }
    match &table.header {
        Some(h) => bail!(
            "找不到{what}列 “{spec}”: 表头有 {}",
            h.iter()
                .map(|c| format!("“{c}”"))
                .collect::<Vec<_>>()
                .join("、")
        ),
        None => bail!("找不到{what}列 “{spec}”: 没有表头 (--no-header) 时请用从 1 开始的列号"),
    }
}

/// More distinct labels than this means the label column is not a category column.
const MAX_CLASSES: usize = 500;

/// Takes the text and label columns, refusing the whole file if any row is bad: every
/// bad row is listed (an empty text or label, a number where text is expected, a
/// missing cell).
pub fn examples(table: &Table, text_column: &str, label_column: &str) -> anyhow::Result<Examples> {
    let ti = column_index(table, text_column, "文本")?;
    let li = column_index(table, label_column, "标签")?;
    let width = table
        .header
        .as_ref()
        .map_or(0, Vec::len)
        .max(table.rows.iter().map(|r| r.1.len()).max().unwrap_or(0));
    for (i, spec, what) in [(ti, text_column, "文本"), (li, label_column, "标签")] {
        if i >= width {
            bail!("找不到{what}列 “{spec}”: 文件只有 {width} 列");
        }
    }
    let mut problems = Vec::new();
    let mut out = Examples {
        texts: Vec::with_capacity(table.rows.len()),
        labels: Vec::with_capacity(table.rows.len()),
    };
    for (row, cells) in &table.rows {
        let mut get = |i: usize, spec: &str, what: &str| -> Option<String> {
            match cells.get(i).unwrap_or(&Cell::Empty) {
                Cell::Text(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
                Cell::Text(_) | Cell::Empty => {
                    problems.push(format!("第 {row} 行: {what}（列 “{spec}”）为空"));
                    None
                }
                Cell::Number(n) => {
                    problems.push(format!(
                        "第 {row} 行: {what}（列 “{spec}”）是数字 {n}，应为文本（请在 Excel 中把该列设为文本格式）"
                    ));
                    None
                }
                Cell::Other(s) => {
                    problems.push(format!("第 {row} 行: {what}（列 “{spec}”）不是文本: {s}"));
                    None
                }
            }
        };
        let text = get(ti, text_column, "文本");
        let label = get(li, label_column, "标签");
        if let (Some(t), Some(l)) = (text, label) {
            out.texts.push(t);
            out.labels.push(l);
        }
    }
    if !problems.is_empty() {
        const SHOWN: usize = 50;
        let mut msg = format!("{} 处数据有问题，未训练:\n", problems.len());
        for p in problems.iter().take(SHOWN) {
            msg.push_str("  ");
            msg.push_str(p);
            msg.push('\n');
        }
        if problems.len() > SHOWN {
            msg.push_str(&format!("  ……另有 {} 处\n", problems.len() - SHOWN));
        }
        bail!("{}", msg.trim_end());
    }
    if out.texts.is_empty() {
        bail!("文件中没有数据行");
    }
    let mut distinct: Vec<&str> = out.labels.iter().map(String::as_str).collect();
    distinct.sort_unstable();
    distinct.dedup();
    if distinct.len() > MAX_CLASSES {
        bail!(
            "标签列 “{label_column}” 有 {} 个不同的值（最多 {MAX_CLASSES} 个类别）: 它像编号而不是类别，请检查 --label-column",
            distinct.len()
        );
    }
    Ok(out)
}

fn load_examples(args: &InputArgs) -> anyhow::Result<Examples> {
    let table = read_table(args)?;
    examples(&table, &args.text_column, &args.label_column)
        .with_context(|| format!("{}", args.input.display()))
}

// -------------------------------------------------------------------------------------
// progress

struct Progress {
    bar: ProgressBar,
    stage: Mutex<Option<Stage>>,
}

impl Progress {
    fn new() -> Progress {
        let bar = ProgressBar::with_draw_target(
            Some(0),
            if std::io::stderr().is_terminal() {
                ProgressDrawTarget::stderr()
            } else {
                ProgressDrawTarget::hidden()
            },
        );
        bar.set_style(
            ProgressStyle::with_template("{msg:8} [{bar:40}] {pos}/{len} {elapsed_precise}")
                .expect("valid template")
                .progress_chars("=> "),
        );
        Progress {
            bar,
            stage: Mutex::new(None),
        }
    }

    fn update(&self, stage: Stage, done: usize, total: usize) {
        let mut current = self.stage.lock().unwrap_or_else(|e| e.into_inner());
        if *current != Some(stage) {
            *current = Some(stage);
            self.bar.reset();
            self.bar.set_message(match stage {
                Stage::Segmenting => "分词",
                Stage::Fitting => "训练",
            });
        }
        self.bar.set_length(total as u64);
        self.bar.set_position(done as u64);
    }
}

// -------------------------------------------------------------------------------------
// commands

/// `zhili train`
pub fn train(args: TrainArgs) -> anyhow::Result<()> {
    let cfg = args.model.config()?;
    let data = load_examples(&args.input)?;
    let started = Instant::now();
    let progress = Progress::new();
    let texts: Vec<&str> = data.texts.iter().map(String::as_str).collect();
    let labels: Vec<&str> = data.labels.iter().map(String::as_str).collect();
    let model = Classifier::train_with(Segmenter::global(), &texts, &labels, &cfg, &|s, d, t| {
        progress.update(s, d, t)
    })?;
    progress.bar.finish_and_clear();
    model
        .save_file(&args.output)
        .with_context(|| format!("无法写入模型 {}", args.output.display()))?;
    let size = std::fs::metadata(&args.output).map_or(0, |m| m.len());
    println!(
        "模型已保存: {} ({:.1} MB; {} 条样本, {} 个类别, {} 个特征, 用时 {:.1} 秒)",
        args.output.display(),
        size as f64 / 1e6,
        model.n_train(),
        model.labels().len(),
        model.n_features(),
        started.elapsed().as_secs_f64()
    );
    println!("类别: {}", model.labels().join("、"));
    Ok(())
}

/// `zhili eval`
pub fn eval(args: EvalArgs) -> anyhow::Result<()> {
    let data = load_examples(&args.input)?;
    let started = Instant::now();
    let texts: Vec<&str> = data.texts.iter().map(String::as_str).collect();
    let labels: Vec<&str> = data.labels.iter().map(String::as_str).collect();
    if let Some(k) = args.cv {
        if k < 2 {
            bail!("--cv 至少为 2");
        }
        let cfg = args.train.config()?;
        let progress = Progress::new();
        let cv = cross_validate(
            Segmenter::global(),
            &texts,
            &labels,
            &cfg,
            k,
            args.seed,
            &|s, d, t| progress.update(s, d, t),
        )?;
        progress.bar.finish_and_clear();
        println!(
            "{k} 折分层交叉验证 (seed {}), {} 条样本, 用时 {:.1} 秒",
            args.seed,
            texts.len(),
            started.elapsed().as_secs_f64()
        );
        println!(
            "各折 macro-F1: {}",
            cv.fold_macro_f1
                .iter()
                .map(|f| format!("{f:.4}"))
                .collect::<Vec<_>>()
                .join(" ")
        );
        println!("{}", cv.evaluation);
        return Ok(());
    }
    let path = args.model.as_ref().expect("clap requires --model or --cv");
    let model =
        Classifier::load_file(path).with_context(|| format!("无法加载模型 {}", path.display()))?;
    let mut names: Vec<String> = model.labels().to_vec();
    let mut gold = Vec::with_capacity(texts.len());
    for l in &labels {
        let i = match names.iter().position(|n| n == l) {
            Some(i) => i,
            None => {
                names.push((*l).to_owned());
                names.len() - 1
            }
        };
        gold.push(i);
    }
    if names.len() > model.labels().len() {
        eprintln!(
            "注意: 模型没有这些类别，它们的样本必然判错: {}",
            names[model.labels().len()..].join("、")
        );
    }
    let pred: Vec<usize> = texts.iter().map(|t| model.classify(t)).collect();
    let e = Evaluation::new(&names, &gold, &pred);
    println!(
        "模型 {} 在 {} 上 ({} 条样本, 用时 {:.1} 秒)",
        path.display(),
        args.input.input.display(),
        texts.len(),
        started.elapsed().as_secs_f64()
    );
    println!("{e}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(text: &str, header: bool) -> Table {
        parse_delimited(text, b',', header).unwrap()
    }

    #[test]
    fn reads_columns_by_name_and_by_number() {
        let t = table(
            "id,内容,类别\n1,小区群租房,城乡建设\n2,拖欠工资,劳动和社会保障\n",
            true,
        );
        let e = examples(&t, "内容", "类别").unwrap();
        assert_eq!(e.texts, ["小区群租房", "拖欠工资"]);
        assert_eq!(e.labels, ["城乡建设", "劳动和社会保障"]);
        let e = examples(&t, "2", "3").unwrap();
        assert_eq!(e.labels[1], "劳动和社会保障");

        let t = parse_delimited(
            "小区 群租房\t城乡建设\n拖欠 工资\t劳动和社会保障\n",
            b'\t',
            false,
        )
        .unwrap();
        let e = examples(&t, "1", "2").unwrap();
        assert_eq!(e.texts[0], "小区 群租房");
    }

    #[test]
    fn a_missing_column_is_named() {
        let t = table("id,内容,类别\n1,小区群租房,城乡建设\n", true);
        let err = examples(&t, "正文", "类别").unwrap_err().to_string();
        assert!(err.contains("正文") && err.contains("内容"), "{err}");
        let err = examples(&t, "内容", "9").unwrap_err().to_string();
        assert!(err.contains("“9”"), "{err}");
        let t = table("小区群租房,城乡建设\n", false);
        let err = examples(&t, "text", "2").unwrap_err().to_string();
        assert!(err.contains("text") && err.contains("列号"), "{err}");
    }

    #[test]
    fn empty_labels_and_texts_are_reported_by_row_number() {
        // Row 1 is the header; the quoted text on row 3 spans two lines.
        let t = table(
            "内容,类别\n小区群租房,城乡建设\n\"拖欠\n工资\",\n,环境保护\n噪音扰民,环境保护\n   ,  \n",
            true,
        );
        let err = examples(&t, "内容", "类别").unwrap_err().to_string();
        assert!(err.contains("第 3 行: 标签"), "{err}");
        assert!(err.contains("第 5 行: 文本"), "{err}");
        assert!(err.starts_with("2 处数据有问题"), "{err}");
    }

    #[test]
    fn numbers_where_text_is_expected_are_refused() {
        let t = Table {
            header: Some(vec!["内容".into(), "类别".into()]),
            rows: vec![
                (
                    2,
                    vec![Cell::Text("噪音扰民".into()), Cell::Text("环境保护".into())],
                ),
                (
                    3,
                    vec![Cell::Number(3.302_811_99e17), Cell::Text("城乡建设".into())],
                ),
            ],
        };
        let err = examples(&t, "内容", "类别").unwrap_err().to_string();
        assert!(err.contains("第 3 行") && err.contains("数字"), "{err}");
    }

    #[test]
    fn gbk_csv_is_decoded() {
        let text = "内容,类别\n小区群租房,城乡建设\n";
        let (gbk, _, _) = encoding_rs::GBK.encode(text);
        assert!(std::str::from_utf8(&gbk).is_err());
        assert_eq!(decode(&gbk, Encoding::Auto).unwrap(), text);
        assert_eq!(decode(&gbk, Encoding::Gbk).unwrap(), text);
        assert!(decode(&gbk, Encoding::Utf8).is_err());
        let mut bom = b"\xEF\xBB\xBF".to_vec();
        bom.extend_from_slice(text.as_bytes());
        assert_eq!(decode(&bom, Encoding::Auto).unwrap(), text);

        let dir = std::env::temp_dir().join(format!("zhili-train-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("gbk.csv");
        std::fs::write(&path, &gbk).unwrap();
        let args = InputArgs {
            input: path,
            text_column: "内容".into(),
            label_column: "类别".into(),
            no_header: false,
            encoding: Encoding::Auto,
            sheet: None,
        };
        let e = load_examples(&args).unwrap();
        assert_eq!(e.texts, ["小区群租房"]);
        assert_eq!(e.labels, ["城乡建设"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_id_column_is_not_taken_for_labels() {
        let mut csv = String::from("内容,编号\n");
        for i in 0..=MAX_CLASSES {
            csv.push_str(&format!("消息{i},A{i}\n"));
        }
        let err = examples(&table(&csv, true), "内容", "编号")
            .unwrap_err()
            .to_string();
        assert!(err.contains("编号") && err.contains("501"), "{err}");
    }

    #[test]
    fn unknown_extensions_are_refused() {
        let args = InputArgs {
            input: PathBuf::from("data.json"),
            text_column: "a".into(),
            label_column: "b".into(),
            no_header: false,
            encoding: Encoding::Auto,
            sheet: None,
        };
        assert!(read_table(&args).unwrap_err().to_string().contains(".csv"));
    }
}
