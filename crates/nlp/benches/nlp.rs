//! Classification throughput on raw text, segmentation included, on one core.
//!
//! The messages are the synthetic ones embedded from `fixtures/messages.tsv` plus a few
//! longer ones below. The model is trained on the tipdm data when
//! `../shared/data/tipdm/train_segmented.tsv` exists next to the repository (a model of
//! realistic size), otherwise on the fixture; the bench says which.
//!
//! `cargo bench -p zhili-nlp --bench nlp`

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use zhili_nlp::{Classifier, Segmenter, TrainConfig, normalize};

const FIXTURE: &str = include_str!("../fixtures/messages.tsv");

/// Longer messages, as citizens write them (title, greeting, details, request).
const LONG: &[&str] = &[
    "关于幸福小区群租房的投诉。尊敬的领导您好！我是幸福小区3栋的业主，楼下302室被二房东隔成了8个小间出租，\
     住了二十多人，每天晚上吵闹到凌晨，楼道里堆满杂物，消防通道被堵，电动车在楼道飞线充电，存在严重的火灾隐患。\
     我们多次向物业和社区反映，至今没有处理。恳请有关部门尽快核查处理，还我们一个安全安静的居住环境，谢谢！",
    "反映某建筑公司拖欠农民工工资问题。我们是在城东新区安置房项目干活的木工班组，一共32人，从去年10月干到今年1月，\
     包工头说公司没有结算，一直拖欠工资共计46万元。临近春节，大家都等着钱回家过年，多次找公司和项目部都被推脱。\
     请劳动监察部门帮我们讨回血汗钱。",
    "建议优化15路公交线路。现在15路公交车从火车站到开发区要绕行老城区，全程一个多小时，早晚高峰经常晚点，\
     开发区上班的人很多，希望公交公司能够调整线路或者增开直达班次，方便群众出行。",
    "化工园区夜间偷排废气。每天晚上十一点以后，园区方向飘来刺鼻的化学气味，窗户关着都能闻到，\
     家里老人小孩咳嗽不止。白天没有，怀疑企业夜间偷排，请环保部门夜间突击检查，还我们清新的空气。",
];

fn messages() -> Vec<String> {
    FIXTURE
        .lines()
        .filter_map(|l| l.split_once('\t').map(|(_, t)| t.to_owned()))
        .chain(LONG.iter().map(|s| (*s).to_owned()))
        .collect()
}

fn tipdm_path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/tipdm/train_segmented.tsv")
}

/// 500 tipdm messages with the spaces of their segmentation removed (long messages:
/// about 300 characters on average), when the data is there.
fn tipdm_sample() -> Option<Vec<String>> {
    let text = std::fs::read_to_string(tipdm_path()).ok()?;
    Some(
        text.lines()
            .skip(1)
            .step_by(16)
            .take(500)
            .filter_map(|l| l.rsplit_once('\t'))
            .map(|(t, _)| t.split_whitespace().collect())
            .collect(),
    )
}

fn model() -> Classifier {
    let path = tipdm_path();
    let cfg = TrainConfig {
        calibration_folds: 0,
        threads: 2,
        ..TrainConfig::default()
    };
    if let Ok(text) = std::fs::read_to_string(&path) {
        let (texts, labels): (Vec<&str>, Vec<&str>) = text
            .lines()
            .skip(1)
            .filter_map(|l| l.rsplit_once('\t'))
            .unzip();
        let m = Classifier::train(&texts, &labels, &cfg).expect("trains on tipdm");
        eprintln!(
            "bench model: trained on {} ({} texts, {} features)",
            path.display(),
            texts.len(),
            m.n_features()
        );
        m
    } else {
        let (labels, texts): (Vec<&str>, Vec<&str>) =
            FIXTURE.lines().filter_map(|l| l.split_once('\t')).unzip();
        let m = Classifier::train(&texts, &labels, &cfg).expect("trains on the fixture");
        eprintln!(
            "bench model: {} not found, trained on the embedded fixture ({} features)",
            path.display(),
            m.n_features()
        );
        m
    }
}

fn bench(c: &mut Criterion) {
    let msgs = messages();
    let chars: usize = msgs.iter().map(|m| m.chars().count()).sum();
    eprintln!(
        "{} messages, {:.0} characters on average",
        msgs.len(),
        chars as f64 / msgs.len() as f64
    );
    let seg = Segmenter::global();
    let model = model();

    let mut g = c.benchmark_group("nlp");
    g.throughput(Throughput::Elements(msgs.len() as u64));
    g.bench_function("segment", |b| {
        b.iter(|| {
            for m in &msgs {
                let norm = normalize(m);
                black_box(seg.tokens(&norm).len());
            }
        })
    });
    g.bench_function("classify", |b| {
        b.iter(|| {
            for m in &msgs {
                black_box(model.classify(m));
            }
        })
    });
    g.bench_function("predict_top3_explained", |b| {
        b.iter(|| {
            for m in &msgs {
                black_box(model.predict(m));
            }
        })
    });
    g.finish();

    match tipdm_sample() {
        Some(long) => {
            let chars: usize = long.iter().map(|m| m.chars().count()).sum();
            eprintln!(
                "tipdm sample: {} messages, {:.0} characters on average",
                long.len(),
                chars as f64 / long.len() as f64
            );
            let mut g = c.benchmark_group("nlp_tipdm_long");
            g.throughput(Throughput::Elements(long.len() as u64));
            g.sample_size(20);
            g.bench_function("classify", |b| {
                b.iter(|| {
                    for m in &long {
                        black_box(model.classify(m));
                    }
                })
            });
            g.bench_function("predict_top3_explained", |b| {
                b.iter(|| {
                    for m in &long {
                        black_box(model.predict(m));
                    }
                })
            });
            g.finish();
        }
        None => eprintln!("tipdm data not found: long-message bench skipped"),
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
