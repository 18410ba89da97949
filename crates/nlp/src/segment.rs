//! Text normalisation and jieba segmentation with a governance user dictionary.
//!
//! One pipeline serves raw citizen messages and the pre-segmented training file:
//! [`normalize`] drops all whitespace (so `"群租 房"` and `"群租房"` become the same
//! string), folds full-width ASCII to half-width and lower-cases; jieba then cuts the
//! string and [`Segmenter::tokens`] keeps only the tokens made of Chinese characters
//! that are not stop words. The stop list holds the function words that the
//! training file's own stop-word removal had taken out (each of them occurs zero times
//! there), so raw text at inference looks like the training data.

use std::collections::HashSet;
use std::sync::OnceLock;

use jieba_rs::Jieba;

/// Governance words added to jieba's dictionary so that they stay whole.
pub const GOVERNANCE_WORDS: &[&str] = &[
    "网格员",
    "网格化",
    "网格长",
    "群租房",
    "违章搭建",
    "违章建筑",
    "违法建设",
    "噪音扰民",
    "噪声扰民",
    "占道经营",
    "油烟扰民",
    "乱搭乱建",
    "渣土车",
    "物业纠纷",
    "劳资纠纷",
    "欠薪",
    "拖欠工资",
    "讨薪",
    "消防通道",
    "垃圾清运",
    "垃圾分类",
    "城中村",
    "电动车充电",
    "飞线充电",
    "广场舞",
    "装修噪音",
    "夜间施工",
    "高空抛物",
    "楼道堆物",
    "私拉乱接",
    "违规养犬",
    "流浪犬",
    "僵尸车",
    "共享单车",
    "化粪池",
    "污水管网",
    "雨污分流",
    "黑臭水体",
    "露天烧烤",
    "散装燃气",
    "燃气泄漏",
    "社保缴费",
    "养老保险",
    "医保报销",
    "低保户",
    "安置房",
    "拆迁补偿",
    "征地补偿",
    "农民工",
    "电梯故障",
    "二次供水",
    "停车难",
    "乱停乱放",
    "违规收费",
    "学区房",
    "校外培训",
    "黑诊所",
    "非法行医",
    "无证经营",
    "网约车",
    "黑车",
    "公交线路",
];

/// Function words removed before features are built. Every one of them occurs zero
/// times in the tipdm training file, whose stop-word removal took them out.
const STOP_WORDS: &str = "的 地 得 了 着 过 是 在 有 和 与 及 或 而 并 且 就 都 也 还 又 才 但 但是 可是 然而 \
而且 并且 不过 如果 假如 即使 虽然 尽管 因为 所以 因此 于是 然后 那么 这么 那样 这样 这些 那些 这个 那个 这里 \
那里 这儿 那儿 哪里 哪儿 哪个 哪些 什么 怎么 怎样 怎么样 为什么 为何 如何 多少 几 我 我们 你 你们 您 他 他们 \
她 她们 它 它们 咱 咱们 自己 人家 大家 别人 其他 其它 其 其中 之 之一 以 以及 以便 以免 为 为了 于 由 由于 从 \
自从 向 往 朝 对 对于 关于 把 被 让 给 叫 比 跟 同 同时 除了 除 按 按照 根据 依照 通过 经过 随着 至于 至 到 \
到了 即 即将 既 既然 则 乃 若 如 如此 此 此外 彼 哪 谁 某 某些 每 各 各个 各种 一切 一样 一般 有些 有的 啊 \
呀 吗 呢 吧 嘛 哦 哈 嗯 喔 呃 唉 哎 哟 啦 喽 呗 罢了 而已 么 不 没 没有 别 不要 不能 不会 不是 很 更 非常 极 \
极其 都是 常常 经常 将 将要 就是 还是 也是 只是 只有 只要 不但 不仅 而是 或者 要么 还有 另外 另 总之 甚至 比如 \
例如 譬如 等 等等 之类 上 内 来 去 起来 上来 出来 进来 能 可以 可能 会 要 该 必须 敢 看 用 使得 个 多 大";

/// A fingerprint of everything that turns text into n-gram keys here (normalisation and
/// key-hashing version, the governance words, the stop list). A model file records it,
/// and loading refuses a model made by a different pipeline: its features would no
/// longer match.
pub fn pipeline_fingerprint() -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |b: &[u8]| {
        for &x in b {
            h ^= u64::from(x);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    };
    eat(b"zhili-nlp pipeline 1;");
    for w in GOVERNANCE_WORDS {
        eat(w.as_bytes());
        eat(b",");
    }
    eat(STOP_WORDS.as_bytes());
    h
}

/// jieba with the default dictionary plus [`GOVERNANCE_WORDS`], and the stop list.
///
/// Building one costs about 130 ms (optimised); use [`Segmenter::global`] to share one.
pub struct Segmenter {
    jieba: Jieba,
    stop: HashSet<&'static str>,
}

impl std::fmt::Debug for Segmenter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Segmenter")
            .field("stop_words", &self.stop.len())
            .finish_non_exhaustive()
    }
}

impl Default for Segmenter {
    fn default() -> Self {
        Self::new()
    }
}

impl Segmenter {
    /// A segmenter with jieba's default dictionary and the governance words.
    pub fn new() -> Self {
        Self::with_words(GOVERNANCE_WORDS.iter().copied())
    }

    /// A segmenter with jieba's default dictionary and the given extra words.
    pub fn with_words<'w>(words: impl IntoIterator<Item = &'w str>) -> Self {
        let mut jieba = Jieba::new();
        for w in words {
            let w = w.trim();
            if !w.is_empty() {
                jieba.add_word(w, None, None);
            }
        }
        Segmenter {
            jieba,
            stop: STOP_WORDS.split_whitespace().collect(),
        }
    }

    /// The process-wide segmenter, built on first use.
    pub fn global() -> &'static Segmenter {
        static GLOBAL: OnceLock<Segmenter> = OnceLock::new();
        GLOBAL.get_or_init(Segmenter::new)
    }

    /// jieba's plain segmentation (with HMM) of `text`, nothing removed.
    pub fn cut<'a>(&self, text: &'a str) -> Vec<&'a str> {
        self.jieba
            .cut(text, true)
            .into_iter()
            .map(|t| t.word)
            .collect()
    }

    /// The content words of an already [`normalize`]d text: Chinese-only tokens that
    /// are not stop words, in order.
    pub fn tokens<'a>(&self, normalized: &'a str) -> Vec<&'a str> {
        let mut out = Vec::with_capacity(normalized.len() / 5 + 1);
        for t in self.jieba.cut(normalized, true) {
            let w = t.word;
            if w.chars().all(is_han) && !self.stop.contains(w) {
                out.push(w);
            }
        }
        out
    }

    /// Is `word` one of the stop words removed by [`Segmenter::tokens`]?
    pub fn is_stop_word(&self, word: &str) -> bool {
        self.stop.contains(word)
    }
}

/// Chinese (Han) characters: CJK unified ideographs and their extensions and
/// compatibility forms.
pub fn is_han(c: char) -> bool {
    matches!(c as u32,
        0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x2FA1F | 0x30000..=0x323AF)
}

/// Removes all whitespace, folds full-width ASCII (`Ａ`, `１`, `，`) to half-width and
/// lower-cases ASCII letters. Chinese text has no spaces between words, so removing
/// them makes a pre-segmented text (`"小区 物业"`) the same as a raw one.
pub fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_whitespace() {
            continue;
        }
        let c = match c as u32 {
            0xFF01..=0xFF5E => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            _ => c,
        };
        out.push(c.to_ascii_lowercase());
    }
    out
}
