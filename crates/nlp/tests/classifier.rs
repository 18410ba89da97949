//! The classifier end to end on a small embedded fixture of synthetic messages.

use std::sync::OnceLock;

use proptest::prelude::*;
use zhili_nlp::{Classifier, NlpError, Segmenter, TrainConfig, cross_validate, normalize};

const FIXTURE: &str = include_str!("../fixtures/messages.tsv");

fn fixture() -> (Vec<&'static str>, Vec<&'static str>) {
    FIXTURE
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let (label, text) = l.split_once('\t').expect("label<TAB>text");
            (text, label)
        })
        .unzip()
}

fn model() -> &'static Classifier {
    static MODEL: OnceLock<Classifier> = OnceLock::new();
    MODEL.get_or_init(|| {
        let (texts, labels) = fixture();
        Classifier::train(&texts, &labels, &TrainConfig::default()).expect("trains")
    })
}

/// Messages not in the fixture whose class is obvious.
const HELD_OUT: &[(&str, &str)] = &[
    (
        "隔壁单元的房子被隔成群租房，住了十几个人，消防通道全堵了",
        "城乡建设",
    ),
    ("小区物业收了物业费却不维修电梯", "城乡建设"),
    ("工厂排放废水污染河道，河水发臭", "环境保护"),
    ("工地夜间施工噪音扰民，凌晨还在施工", "环境保护"),
    ("老板拖欠工资半年，农民工讨薪无门", "劳动和社会保障"),
    ("公司不给缴纳社保和养老保险", "劳动和社会保障"),
    ("出租车拒载还乱收费", "交通运输"),
    ("公交线路取消后村民出行不便，希望恢复公交车", "交通运输"),
];

#[test]
fn classifies_obvious_held_out_messages() {
    let m = model();
    for (text, want) in HELD_OUT {
        let p = m.predict(text);
        assert_eq!(p.label(), *want, "{text}: {p:?}");
        assert!(p.confidence() > 0.25, "{text}: {p:?}");
        assert_eq!(m.labels()[m.classify(text)], *want);
    }
}

#[test]
fn top_classes_are_ordered_and_probabilities_sum_to_one() {
    let m = model();
    let p = m.predict_with(Segmenter::global(), HELD_OUT[0].0, 4, 3);
    assert_eq!(p.top.len(), 4);
    for w in p.top.windows(2) {
        assert!(w[0].confidence >= w[1].confidence);
    }
    let sum: f32 = m.probabilities(HELD_OUT[0].0).iter().sum();
    assert!((sum - 1.0).abs() < 1e-4, "{sum}");
    assert!(p.known_features > 0);
}

#[test]
fn evidence_comes_from_the_input() {
    let m = model();
    for (text, _) in HELD_OUT {
        let p = m.predict(text);
        assert!(!p.evidence.is_empty(), "{text}: no evidence");
        let norm = normalize(text);
        for e in &p.evidence {
            assert!(e.weight > 0.0);
            assert!(
                norm.contains(&e.text.replace(' ', "")),
                "{text}: evidence {:?} is not in the input",
                e.text
            );
        }
    }
    let p = m.predict("楼下的小区物业乱收费");
    assert!(p.evidence.iter().any(|e| e.text.contains("物业")), "{p:?}");
}

#[test]
fn save_load_gives_identical_predictions() {
    let m = model();
    let bytes = m.to_bytes();
    let loaded = Classifier::from_bytes(&bytes).expect("loads");
    assert_eq!(loaded.labels(), m.labels());
    assert_eq!(
        loaded.to_bytes(),
        bytes,
        "a loaded model writes the same bytes"
    );
    let (texts, _) = fixture();
    for t in texts.iter().copied().chain(HELD_OUT.iter().map(|h| h.0)) {
        assert_eq!(loaded.predict(t), m.predict(t), "{t}");
    }

    let dir = std::env::temp_dir().join(format!("zhili-nlp-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("model.zhm");
    m.save_file(&path).unwrap();
    let from_file = Classifier::load_file(&path).unwrap();
    assert_eq!(from_file.predict(HELD_OUT[2].0), m.predict(HELD_OUT[2].0));
    std::fs::remove_dir_all(&dir).unwrap();
}

fn format_error(bytes: &[u8]) -> String {
    match Classifier::from_bytes(bytes) {
        Err(e @ NlpError::ModelFormat(_)) => e.to_string(),
        Err(e) => panic!("wrong error kind: {e}"),
        Ok(_) => panic!("a damaged model loaded"),
    }
}

#[test]
fn truncated_corrupt_or_foreign_files_give_clear_errors() {
    let bytes = model().to_bytes();
    for cut in [0, 5, 27, 28, 100, bytes.len() / 2, bytes.len() - 1] {
        let e = format_error(&bytes[..cut]);
        assert!(e.contains("截断"), "cut at {cut}: {e}");
    }
    let mut flipped = bytes.clone();
    let mid = bytes.len() / 2;
    flipped[mid] ^= 0x40;
    assert!(format_error(&flipped).contains("校验和"));

    let mut longer = bytes.clone();
    longer.push(0);
    assert!(format_error(&longer).contains("多出"));

    let mut version = bytes.clone();
    version[8] = 99;
    assert!(format_error(&version).contains("版本"));

    assert!(format_error(b"PK\x03\x04 this is a zip file, not a model").contains("不是"));

    // A model from another pipeline (different fingerprint, checksum recomputed).
    let json_len = u32::from_le_bytes(bytes[28..32].try_into().unwrap()) as usize;
    let json = std::str::from_utf8(&bytes[32..32 + json_len]).expect("a JSON header");
    let start = json
        .find("\"pipeline\":")
        .expect("fingerprint in the header")
        + 11;
    let digits = json[start..].bytes().take_while(u8::is_ascii_digit).count();
    let at = 32 + start + digits - 1; // the last digit: stays a valid u64
    let mut other = bytes.clone();
    other[at] = if other[at] == b'1' { b'2' } else { b'1' };
    let body = &other[28..];
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in body {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    other[20..28].copy_from_slice(&h.to_le_bytes());
    assert!(
        format_error(&other).contains("另一版本"),
        "{}",
        format_error(&other)
    );

    let missing = std::env::temp_dir().join("zhili-nlp-no-such-model.zhm");
    assert!(matches!(
        Classifier::load_file(missing),
        Err(NlpError::Io(_))
    ));
}

#[test]
fn training_is_reproducible() {
    let (texts, labels) = fixture();
    let cfg = TrainConfig {
        threads: 2,
        ..TrainConfig::default()
    };
    let a = Classifier::train(&texts, &labels, &cfg).unwrap();
    assert_eq!(a.to_bytes()[28..], model().to_bytes()[28..]);
}

#[test]
fn pre_segmented_and_raw_text_are_treated_alike() {
    let m = model();
    let raw = "我家楼下的房子被改成群租房，消防通道被堵。";
    let segmented = "我家 楼下 房子 改成 群租房 消防通道 堵";
    assert_eq!(m.predict(raw).label(), m.predict(segmented).label());
    assert_eq!(m.predict("群租 房 噪音 扰民"), m.predict("群租房噪音扰民"));
}

#[test]
fn bad_training_input_is_refused() {
    let cfg = TrainConfig::default();
    assert!(matches!(
        Classifier::train(&[], &[], &cfg),
        Err(NlpError::EmptyTrainingSet)
    ));
    assert!(matches!(
        Classifier::train(&["a", "b"], &["x"], &cfg),
        Err(NlpError::LengthMismatch { .. })
    ));
    assert!(matches!(
        Classifier::train(&["a", "b"], &["x", "x"], &cfg),
        Err(NlpError::TooFewClasses(1))
    ));
    let e = Classifier::train(&["a", "b", "c"], &["x", " ", "y"], &cfg).unwrap_err();
    assert!(e.to_string().contains("第 2 个"), "{e}");
}

#[test]
fn cross_validation_on_the_fixture() {
    let (texts, labels) = fixture();
    let cfg = TrainConfig {
        calibration_folds: 0,
        ..TrainConfig::default()
    };
    let cv = cross_validate(
        Segmenter::global(),
        &texts,
        &labels,
        &cfg,
        3,
        7,
        &|_, _, _| {},
    )
    .unwrap();
    assert_eq!(cv.fold_macro_f1.len(), 3);
    assert!(cv.evaluation.macro_f1 > 0.6, "{}", cv.evaluation);
    assert!(cv.evaluation.to_string().contains("macro-F1: 0."));
    let e = cross_validate(
        Segmenter::global(),
        &texts,
        &labels,
        &cfg,
        40,
        7,
        &|_, _, _| {},
    )
    .unwrap_err();
    assert!(matches!(e, NlpError::TooFewForFolds { .. }), "{e}");
}

#[test]
fn the_user_dictionary_keeps_governance_words_whole() {
    let seg = Segmenter::global();
    for (text, word) in [
        ("我家楼下是群租房", "群租房"),
        ("网格员上门走访了解情况", "网格员"),
        ("有人在楼道飞线充电", "飞线充电"),
        ("老板拖欠工资不给", "拖欠工资"),
    ] {
        let cut = seg.cut(text);
        assert!(cut.contains(&word), "{text}: {cut:?}");
        assert!(seg.tokens(&normalize(text)).contains(&word));
    }
    // Stop words and non-Chinese tokens are dropped.
    let norm = normalize("我们的小区有100个车位，ABC停车场");
    let toks = seg.tokens(&norm);
    assert!(!toks.contains(&"我们") && !toks.contains(&"的"), "{toks:?}");
    assert!(
        toks.iter()
            .all(|t| t.chars().all(zhili_nlp::segment::is_han))
    );
}

/// Reads the real tipdm data when it is there (`../shared/data`); skips otherwise.
#[test]
fn tipdm_sample_when_present() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/tipdm/train_segmented.tsv");
    let Ok(text) = std::fs::read_to_string(&path) else {
        println!("skipped: {} not found", path.display());
        return;
    };
    let rows: Vec<(&str, &str)> = text
        .lines()
        .skip(1)
        .filter_map(|l| l.rsplit_once('\t'))
        .collect();
    // Every 8th row for training, every 8th (offset 4) for testing: small enough
    // for a debug build.
    let train: Vec<_> = rows.iter().step_by(8).collect();
    let test: Vec<_> = rows.iter().skip(4).step_by(8).collect();
    let texts: Vec<&str> = train.iter().map(|r| r.0).collect();
    let labels: Vec<&str> = train.iter().map(|r| r.1).collect();
    let cfg = TrainConfig {
        calibration_folds: 0,
        threads: 2,
        ..TrainConfig::default()
    };
    let m = Classifier::train(&texts, &labels, &cfg).unwrap();
    let gold: Vec<usize> = test
        .iter()
        .map(|r| m.labels().iter().position(|l| l == r.1).unwrap())
        .collect();
    let pred: Vec<usize> = test.iter().map(|r| m.classify(r.0)).collect();
    let e = zhili_nlp::Evaluation::new(m.labels(), &gold, &pred);
    println!(
        "tipdm sample ({} train, {} test): {e}",
        texts.len(),
        test.len()
    );
    assert!(e.macro_f1 > 0.8, "{e}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn any_text_gets_a_prediction(text in "\\PC{0,80}") {
        let m = model();
        let p = m.predict(&text);
        prop_assert_eq!(p.top.len(), 3);
        prop_assert!(p.top.iter().all(|c| c.confidence.is_finite()));
        let norm = normalize(&text);
        for e in &p.evidence {
            prop_assert!(norm.contains(&e.text.replace(' ', "")));
        }
    }

    #[test]
    fn damaged_bytes_never_panic(cut in 0usize..4000, flip in 0usize..4000) {
        let mut bytes = model().to_bytes();
        let at = flip % bytes.len();
        bytes[at] ^= 0x01;
        bytes.truncate(cut.max(1) * bytes.len() / 4000);
        prop_assert!(Classifier::from_bytes(&bytes).is_err());
    }
}
