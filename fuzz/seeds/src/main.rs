//! The binary seeds of the fuzz targets: a fuzzer mutating from nothing rarely gets
//! past a zip header or a JPEG's segment structure, so each file-format target starts
//! from a small valid file of its kind. Text seeds are written by hand in the corpus.

use std::fs;
use std::path::Path;

use rust_xlsxwriter::Workbook;

fn xlsx(rows: &[&[&str]]) -> Vec<u8> {
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    for (r, cells) in rows.iter().enumerate() {
        for (c, v) in cells.iter().enumerate() {
            let (r, c) = (r as u32, c as u16);
            // Numbers as numbers, so the seed holds the numeric and date cells too.
            match v.parse::<f64>() {
                Ok(n) if !v.starts_with('0') => ws.write_number(r, c, n),
                _ => ws.write_string(r, c, *v),
            }
            .expect("cell");
        }
    }
    wb.save_to_buffer().expect("xlsx")
}

fn jpeg() -> Vec<u8> {
    let mut out = Vec::new();
    let pixels: Vec<u8> = (0..8 * 8 * 3).map(|i| (i * 7 % 251) as u8).collect();
    jpeg_encoder::Encoder::new(&mut out, 50)
        .encode(&pixels, 8, 8, jpeg_encoder::ColorType::Rgb)
        .expect("jpeg");
    // An APP1 (EXIF) and a comment after SOI, for the stripping to remove.
    let mut with_meta = out[..2].to_vec();
    for (marker, body) in [
        (0xE1u8, &b"Exif\0\0II*\0\x08\0\0\0\0\0"[..]),
        (0xFE, b"shot at home"),
    ] {
        with_meta.extend_from_slice(&[0xFF, marker]);
        with_meta.extend_from_slice(&(body.len() as u16 + 2).to_be_bytes());
        with_meta.extend_from_slice(body);
    }
    with_meta.extend_from_slice(&out[2..]);
    with_meta
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], body: &[u8]) {
    out.extend_from_slice(&(body.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(body);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// A 1×1 RGB PNG with a text chunk (metadata to strip).
fn png() -> Vec<u8> {
    let raw = [0u8, 200, 10, 10];
    let mut idat = vec![0x78, 0x01, 0x01, 4, 0, !4u8, 0xFF];
    idat.extend_from_slice(&raw);
    let (mut a, mut b) = (1u32, 0u32);
    for x in raw {
        a = (a + u32::from(x)) % 65521;
        b = (b + a) % 65521;
    }
    idat.extend_from_slice(&((b << 16) | a).to_be_bytes());
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    png_chunk(&mut out, b"IHDR", &[0, 0, 0, 1, 0, 0, 0, 1, 8, 2, 0, 0, 0]);
    png_chunk(&mut out, b"tEXt", b"Comment\0shot at home");
    png_chunk(&mut out, b"IDAT", &idat);
    png_chunk(&mut out, b"IEND", &[]);
    out
}

fn write(target: &str, name: &str, bytes: &[u8]) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../corpus")
        .join(target);
    fs::create_dir_all(&dir).expect("corpus dir");
    fs::write(dir.join(format!("seed-{name}")), bytes).expect("seed");
}

fn main() {
    let petition: &[&[&str]] = &[
        &["某区信访局信访件导出"],
        &[
            "信访件编号",
            "来信来访日期",
            "信访人姓名",
            "联系电话",
            "身份证号",
            "问题属地",
            "详细地址",
            "信访内容",
            "问题类别",
        ],
        &[
            "XF-2026-0001",
            "2026-11-02",
            "王小明",
            "13812345678",
            "",
            "凤山街道",
            "城东路1号",
            "夜间施工噪音扰民",
            "0101 噪音扰民",
        ],
        &[
            "XF-2026-0002",
            "46000",
            "李四",
            "0574-62345678",
            "",
            "330281002",
            "",
            "楼道堆物",
            "违章搭建",
        ],
    ];
    write("petition_sheet", "export.xlsx", &xlsx(petition));
    let csv = "信访件编号,来信来访日期,信访人姓名,联系电话,问题属地,信访内容,问题类别\n\
               XF-1,2026/11/02,张三,13812345678,凤山街道,噪音,0101\n";
    let (gbk, _, _) = encoding_rs::GBK.encode(csv);
    write("petition_sheet", "export-gbk.csv", &gbk);
    write("decode_text", "gbk.csv", &gbk);

    let rules: &[&[&str]] = &[
        &[
            "类别编码",
            "类别名称",
            "区域编码",
            "区域名称",
            "主办单位编码",
            "主办单位",
            "协办单位编码",
            "层级",
            "备注",
        ],
        &[
            "0101",
            "噪音扰民",
            "",
            "全市",
            "D-ZJ",
            "住建局",
            "D-GA；S-1",
            "乡镇街道",
            "夜间优先",
        ],
        &[
            "0102",
            "违章搭建",
            "330281002",
            "凤山街道",
            "S-330281002-ZFZD",
            "",
            "",
            "网格",
            "",
        ],
    ];
    write("routing_rules", "rules.xlsx", &xlsx(rules));

    let survey: &[&[&str]] = &[
        &["区域编码", "月份", "受访人数", "知晓人数", "参与人数"],
        &["330281002", "2026-03", "200", "150", "50"],
        &["330281001", "2026年4月", "100", "60.0", "10"],
    ];
    write("survey_import", "survey.xlsx", &xlsx(survey));

    let mut jpg = "现场.JPG\n".as_bytes().to_vec();
    jpg.extend_from_slice(&jpeg());
    write("photo_upload", "photo.jpg", &jpg);
    let mut p = b"photo.png\n".to_vec();
    p.extend_from_slice(&png());
    write("photo_upload", "photo.png", &p);
}
