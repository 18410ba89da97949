//! The model file.
//!
//! ```text
//! offset  size  content
//! 0       8     magic "ZHILINLP"
//! 8       4     format version (u32 LE), now 1
//! 12      8     length of the body in bytes (u64 LE)
//! 20      8     FNV-1a 64 checksum of the body (u64 LE)
//! 28      …     body
//! body:   4     length of the JSON header (u32 LE), then the header: labels,
//!               training configuration, temperature, offsets, sizes
//!         8·n   n-gram keys (u64 LE), sorted
//!         4·n   idf (f32 LE)
//!         4·k   bias (f32 LE)
//!         4·n·k weights (f32 LE), feature-major
//! ```
//! The header also records the fingerprint of the text pipeline (user dictionary, stop
//! list, hashing); a model from a different pipeline is refused rather than silently
//! mis-scored.
//! Loading checks the magic, the version, the length, the checksum and every size,
//! so a foreign, truncated or corrupted file gives an [`NlpError::ModelFormat`] that
//! says which, never a panic.

use std::io::{Read, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::NlpError;
use crate::features::Vectorizer;
use crate::model::{Classifier, TrainConfig};
use crate::segment::pipeline_fingerprint;

const MAGIC: &[u8; 8] = b"ZHILINLP";
/// The model file format version this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;
const PREAMBLE: usize = 28;

#[derive(Serialize, Deserialize)]
struct Header {
    labels: Vec<String>,
    config: TrainConfig,
    temperature: f32,
    offsets: Vec<f32>,
    n_features: usize,
    n_train: usize,
    /// [`pipeline_fingerprint`] of the build that trained the model.
    pipeline: u64,
}

fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

fn bad(msg: impl Into<String>) -> NlpError {
    NlpError::ModelFormat(msg.into())
}

impl Classifier {
    /// The model as bytes in the file format above.
    pub fn to_bytes(&self) -> Vec<u8> {
        let header = Header {
            labels: self.labels.clone(),
            config: self.config.clone(),
            temperature: self.temperature,
            offsets: self.offsets.clone(),
            n_features: self.vectorizer.n_features(),
            n_train: self.n_train,
            pipeline: pipeline_fingerprint(),
        };
        let json = serde_json::to_vec(&header).expect("the header serialises");
        let n = self.vectorizer.n_features();
        let k = self.labels.len();
        let mut body = Vec::with_capacity(4 + json.len() + n * 12 + 4 * k + 4 * n * k);
        body.extend_from_slice(&(json.len() as u32).to_le_bytes());
        body.extend_from_slice(&json);
        for &key in &self.vectorizer.keys {
            body.extend_from_slice(&key.to_le_bytes());
        }
        for &x in self.vectorizer.idf.iter().chain(&self.bias) {
            body.extend_from_slice(&x.to_le_bytes());
        }
        for row in self.rows.chunks_exact(k + 1) {
            for &w in &row[1..] {
                body.extend_from_slice(&w.to_le_bytes());
            }
        }
        let mut out = Vec::with_capacity(PREAMBLE + body.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        out.extend_from_slice(&(body.len() as u64).to_le_bytes());
        out.extend_from_slice(&fnv1a(&body).to_le_bytes());
        out.extend_from_slice(&body);
        out
    }

    /// Reads a model from bytes written by [`Classifier::to_bytes`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Classifier, NlpError> {
        if bytes.len() < PREAMBLE {
            if !bytes.is_empty() && !MAGIC.starts_with(&bytes[..bytes.len().min(8)]) {
                return Err(bad("不是 zhili 分类模型文件 (bad magic)"));
            }
            return Err(bad(format!(
                "文件已截断: 只有 {} 字节，文件头就需要 {PREAMBLE} 字节",
                bytes.len()
            )));
        }
        if &bytes[..8] != MAGIC {
            return Err(bad("不是 zhili 分类模型文件 (bad magic)"));
        }
        let version = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes"));
        if version != FORMAT_VERSION {
            return Err(bad(format!(
                "不支持的模型格式版本 {version}（本程序读写版本 {FORMAT_VERSION}），请用本版本重新训练"
            )));
        }
        let body_len = u64::from_le_bytes(bytes[12..20].try_into().expect("8 bytes"));
        let checksum = u64::from_le_bytes(bytes[20..28].try_into().expect("8 bytes"));
        let body = &bytes[PREAMBLE..];
        if (body.len() as u64) < body_len {
            return Err(bad(format!(
                "文件已截断: 应有 {} 字节，实有 {} 字节",
                body_len + PREAMBLE as u64,
                bytes.len()
            )));
        }
        if (body.len() as u64) > body_len {
            return Err(bad(format!(
                "文件末尾多出 {} 字节",
                body.len() as u64 - body_len
            )));
        }
        if fnv1a(body) != checksum {
            return Err(bad("校验和不符，文件已损坏 (checksum mismatch)"));
        }
        let mut r = Reader { buf: body, pos: 0 };
        let json_len = r.u32()? as usize;
        let header: Header = serde_json::from_slice(r.take(json_len)?)
            .map_err(|e| bad(format!("文件头无法解析: {e}")))?;
        if header.pipeline != pipeline_fingerprint() {
            return Err(bad(
                "模型由另一版本的分词与特征流程训练（用户词典、停用词或特征哈希不同），请用本版本重新训练",
            ));
        }
        let n = header.n_features;
        let k = header.labels.len();
        if k < 2 || header.offsets.len() != k {
            return Err(bad("文件头中的类别数不一致"));
        }
        let expected = n
            .checked_mul(12 + 4 * k)
            .and_then(|x| x.checked_add(4 * k))
            .ok_or_else(|| bad("特征数过大"))?;
        if r.remaining() != expected {
            return Err(bad(format!(
                "数据长度不符: {n} 个特征 × {k} 个类别应有 {expected} 字节，实有 {} 字节",
                r.remaining()
            )));
        }
        let keys: Vec<u64> = r
            .take(8 * n)?
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes")))
            .collect();
        if keys.windows(2).any(|w| w[0] >= w[1]) {
            return Err(bad("特征键未排序"));
        }
        let idf = r.f32s(n)?;
        let bias = r.f32s(k)?;
        let weights = r.f32s(n * k)?;
        if !header.temperature.is_finite() || header.temperature <= 0.0 {
            return Err(bad("温度参数无效"));
        }
        Ok(Classifier::assemble(
            header.config.clone(),
            header.labels,
            Vectorizer::from_parts(header.config.features, keys, idf),
            &weights,
            bias,
            header.offsets,
            header.temperature,
            header.n_train,
        ))
    }

    /// Writes the model to a writer.
    pub fn save(&self, mut w: impl Write) -> Result<(), NlpError> {
        w.write_all(&self.to_bytes())?;
        w.flush()?;
        Ok(())
    }

    /// Reads a model from a reader.
    pub fn load(mut r: impl Read) -> Result<Classifier, NlpError> {
        let mut bytes = Vec::new();
        r.read_to_end(&mut bytes)?;
        Classifier::from_bytes(&bytes)
    }

    /// Writes the model to a file (through a temporary file renamed into place, so a
    /// crash never leaves a half-written model under the name).
    pub fn save_file(&self, path: impl AsRef<Path>) -> Result<(), NlpError> {
        let path = path.as_ref();
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        let tmp = std::path::PathBuf::from(tmp);
        std::fs::write(&tmp, self.to_bytes())?;
        std::fs::rename(&tmp, path)?;
        Ok(())
    }

    /// Reads a model file.
    pub fn load_file(path: impl AsRef<Path>) -> Result<Classifier, NlpError> {
        Classifier::from_bytes(&std::fs::read(path)?)
    }
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8], NlpError> {
        if self.remaining() < n {
            return Err(bad("数据不完整"));
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }
    fn u32(&mut self) -> Result<u32, NlpError> {
        Ok(u32::from_le_bytes(
            self.take(4)?.try_into().expect("4 bytes"),
        ))
    }
    fn f32s(&mut self, n: usize) -> Result<Vec<f32>, NlpError> {
        Ok(self
            .take(4 * n)?
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes")))
            .collect())
    }
}
