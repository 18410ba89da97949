//! A photo as it may be stored: its type read from its bytes (JPEG, PNG or WebP; what
//! cannot be checked is refused), its size within the limit, and a public copy with
//! the metadata removed — EXIF (GPS position, camera, time), XMP, IPTC, comments and
//! embedded thumbnails. The image data itself is never decoded or re-encoded: the
//! public copy keeps exactly the pixels of the original.
//!
//! Metadata is removed by keeping only what decoders need (an allow-list), so that a
//! metadata block we do not know about is dropped rather than passed on.

use img_parts::Bytes;
use img_parts::png::Png;
use img_parts::riff::RiffContent;
use img_parts::webp::WebP;
use sha2::{Digest, Sha256};
use thiserror::Error;

/// The largest photo accepted, in bytes (10 MiB): a phone photo at full resolution.
pub const MAX_PHOTO_BYTES: usize = 10 * 1024 * 1024;

/// The image types zhili stores; each one is checked from the bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhotoKind {
    Jpeg,
    Png,
    Webp,
}

impl PhotoKind {
    pub fn content_type(self) -> &'static str {
        match self {
            PhotoKind::Jpeg => "image/jpeg",
            PhotoKind::Png => "image/png",
            PhotoKind::Webp => "image/webp",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            PhotoKind::Jpeg => "jpg",
            PhotoKind::Png => "png",
            PhotoKind::Webp => "webp",
        }
    }

    pub fn from_content_type(s: &str) -> Option<PhotoKind> {
        [PhotoKind::Jpeg, PhotoKind::Png, PhotoKind::Webp]
            .into_iter()
            .find(|k| k.content_type() == s)
    }
}

/// Why a photo was refused; the message is for the person who sent it.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PhotoError {
    #[error("照片是空文件，请重新选择")]
    Empty,
    #[error("照片过大（{}），每张不超过 {} MB", mib(*.size), MAX_PHOTO_BYTES / (1024 * 1024))]
    TooLarge { size: usize },
    #[error("{0}")]
    Unsupported(&'static str),
    #[error("照片文件已损坏或不完整，无法识别，请重新拍摄或选择")]
    Corrupt,
}

fn mib(size: usize) -> String {
    // Display only: the precision lost converting to f64 does not matter here.
    #[allow(clippy::cast_precision_loss)]
    let m = size as f64 / (1024.0 * 1024.0);
    format!("{m:.1} MB")
}

const UNSUPPORTED: &str = "不是可识别的照片：仅支持 JPEG、PNG、WebP 格式";
const HEIF: &str = "暂不支持 HEIC/HEIF/AVIF 格式的照片：请在手机相机设置中选择“兼容性最佳”（JPEG）后重拍，或转为 JPEG 后上传";
const GIF: &str = "不支持 GIF 动图：请上传 JPEG、PNG 或 WebP 格式的照片";

/// A checked photo, ready to store. Only [`Photo::parse`] makes one, so storage never
/// sees bytes whose type and size were not checked.
#[derive(Clone)]
pub struct Photo {
    kind: PhotoKind,
    filename: String,
    original: Vec<u8>,
    public: Vec<u8>,
    sha256: String,
}

impl std::fmt::Debug for Photo {
    // The bytes would flood any log that prints a photo.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Photo")
            .field("kind", &self.kind)
            .field("filename", &self.filename)
            .field("size", &self.original.len())
            .field("public_size", &self.public.len())
            .field("sha256", &self.sha256)
            .finish()
    }
}

impl Photo {
    /// Checks `bytes` (as uploaded, named `filename` by the sender) and makes the
    /// public copy. CPU work proportional to the size: call it off the async threads.
    pub fn parse(bytes: Vec<u8>, filename: Option<&str>) -> Result<Photo, PhotoError> {
        if bytes.is_empty() {
            return Err(PhotoError::Empty);
        }
        if bytes.len() > MAX_PHOTO_BYTES {
            return Err(PhotoError::TooLarge { size: bytes.len() });
        }
        let kind = sniff(&bytes)?;
        let public = match kind {
            PhotoKind::Jpeg => strip_jpeg(&bytes)?,
            PhotoKind::Png => strip_png(&bytes)?,
            PhotoKind::Webp => strip_webp(&bytes)?,
        };
        Ok(Photo {
            kind,
            filename: sanitise_filename(filename, kind),
            sha256: hex::encode(Sha256::digest(&bytes)),
            original: bytes,
            public,
        })
    }

    pub fn kind(&self) -> PhotoKind {
        self.kind
    }

    /// A safe file name: no path, no control or markup characters, the extension
    /// of the detected type (a PNG sent as "x.jpg" becomes "x.png").
    pub fn filename(&self) -> &str {
        &self.filename
    }

    /// The bytes as uploaded, metadata included.
    pub fn original(&self) -> &[u8] {
        &self.original
    }

    /// The same image without metadata.
    pub fn public(&self) -> &[u8] {
        &self.public
    }

    /// SHA-256 of the original, hex.
    pub fn sha256(&self) -> &str {
        &self.sha256
    }
}

/// The type, from the first bytes; the name and the declared type count for nothing.
fn sniff(b: &[u8]) -> Result<PhotoKind, PhotoError> {
    const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";
    if b.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Ok(PhotoKind::Jpeg);
    }
    if b.starts_with(PNG_SIGNATURE) {
        return Ok(PhotoKind::Png);
    }
    if b.get(..4) == Some(b"RIFF") && b.get(8..12) == Some(b"WEBP") {
        return Ok(PhotoKind::Webp);
    }
    // ISO base media (HEIC, AVIF): "ftyp" at offset 4. Named, so the sender knows what to do.
    if b.get(4..8) == Some(b"ftyp") {
        return Err(PhotoError::Unsupported(HEIF));
    }
    if b.starts_with(b"GIF87a") || b.starts_with(b"GIF89a") {
        return Err(PhotoError::Unsupported(GIF));
    }
    Err(PhotoError::Unsupported(UNSUPPORTED))
}

fn is_frame_header(m: u8) -> bool {
    // SOF0–SOF15 except DHT (C4), JPG (C8) and DAC (CC), which share the range.
    (0xC0..=0xCF).contains(&m) && !matches!(m, 0xC4 | 0xC8 | 0xCC)
}

/// Whether a JPEG segment is needed to show the image. `body` follows the length.
fn keep_jpeg_segment(marker: u8, body: &[u8]) -> bool {
    match marker {
        // Frame headers, Huffman and arithmetic tables, quantisation tables, restart
        // interval, scan header, number of lines, hierarchical progression.
        0xC0..=0xCF | 0xDA..=0xDF => marker != 0xC8,
        // JFIF header (not JFXX, which carries a thumbnail).
        0xE0 => body.starts_with(b"JFIF\0"),
        // The colour profile (not MPF, which points at further images).
        0xE2 => body.starts_with(b"ICC_PROFILE\0"),
        // Adobe's colour transform flag: without it CMYK photos show wrong colours.
        0xEE => body.starts_with(b"Adobe"),
        // APP1 (EXIF, XMP), APP13 (IPTC), other APPn, comments, extensions.
        _ => false,
    }
}

/// Walks the JPEG's markers, keeping the segments an image needs and the
/// entropy-coded data, up to the end-of-image marker. Anything after it (phones
/// append further images there, with their own EXIF) is dropped too.
fn strip_jpeg(b: &[u8]) -> Result<Vec<u8>, PhotoError> {
    let corrupt = || PhotoError::Corrupt;
    let mut out = Vec::with_capacity(b.len());
    out.extend_from_slice(&[0xFF, 0xD8]);
    let mut i = 2;
    let (mut frame, mut scan) = (false, false);
    loop {
        if b.get(i) != Some(&0xFF) {
            return Err(corrupt());
        }
        // A marker may be preceded by any number of 0xFF fill bytes.
        while b.get(i) == Some(&0xFF) {
            i += 1;
        }
        let marker = *b.get(i).ok_or_else(corrupt)?;
        i += 1;
        match marker {
            0xD9 => {
                if !(frame && scan) {
                    return Err(corrupt());
                }
                out.extend_from_slice(&[0xFF, 0xD9]);
                return Ok(out);
            }
            // Markers without a length: restarts and TEM.
            0xD0..=0xD7 | 0x01 => {
                out.extend_from_slice(&[0xFF, marker]);
                continue;
            }
            0x00 | 0xD8 => return Err(corrupt()),
            _ => {}
        }
        let hi = *b.get(i).ok_or_else(corrupt)?;
        let lo = *b.get(i + 1).ok_or_else(corrupt)?;
        let len = usize::from(u16::from_be_bytes([hi, lo]));
        if len < 2 {
            return Err(corrupt());
        }
        let segment = b.get(i..i + len).ok_or_else(corrupt)?;
        let body = segment.get(2..).unwrap_or_default();
        if keep_jpeg_segment(marker, body) {
            out.extend_from_slice(&[0xFF, marker]);
            out.extend_from_slice(segment);
        }
        frame |= is_frame_header(marker);
        i += len;
        if marker == 0xDA {
            if !frame {
                return Err(corrupt());
            }
            scan = true;
            // Entropy-coded data runs to the next marker: 0xFF not followed by a
            // stuffed zero or a restart marker.
            let start = i;
            loop {
                let rest = b.get(i..).ok_or_else(corrupt)?;
                let ff = rest.iter().position(|&x| x == 0xFF).ok_or_else(corrupt)?;
                i += ff;
                match b.get(i + 1) {
                    Some(0x00 | 0xD0..=0xD7) => i += 2,
                    Some(_) => break,
                    None => return Err(corrupt()),
                }
            }
            out.extend_from_slice(b.get(start..i).ok_or_else(corrupt)?);
        }
    }
}

/// PNG chunks an image needs (critical ones, colour, transparency, animation);
/// text chunks (where XMP lives), eXIf, tIME and private chunks are dropped.
const PNG_KEEP: [&[u8; 4]; 19] = [
    b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"iCCP", b"sBIT",
    b"bKGD", b"pHYs", b"hIST", b"cICP", b"mDCV", b"cLLI", b"acTL", b"fcTL", b"fdAT",
];

fn strip_png(b: &[u8]) -> Result<Vec<u8>, PhotoError> {
    // Checks every chunk's CRC and stops at IEND, dropping anything after it.
    let mut png = Png::from_bytes(Bytes::copy_from_slice(b)).map_err(|_| PhotoError::Corrupt)?;
    let chunks = png.chunks();
    let complete = chunks.first().is_some_and(|c| &c.kind() == b"IHDR")
        && chunks.last().is_some_and(|c| &c.kind() == b"IEND")
        && chunks.iter().any(|c| &c.kind() == b"IDAT");
    if !complete {
        return Err(PhotoError::Corrupt);
    }
    png.chunks_mut().retain(|c| PNG_KEEP.contains(&&c.kind()));
    Ok(png.encoder().bytes().to_vec())
}

/// WebP chunks an image needs; EXIF, XMP and unknown chunks are dropped.
const WEBP_KEEP: [&[u8; 4]; 7] = [
    b"VP8 ", b"VP8L", b"VP8X", b"ALPH", b"ANIM", b"ANMF", b"ICCP",
];
/// The VP8X flags announcing EXIF and XMP chunks.
const VP8X_METADATA_FLAGS: u8 = 0b0000_1100;

fn strip_webp(b: &[u8]) -> Result<Vec<u8>, PhotoError> {
    let mut webp = WebP::from_bytes(Bytes::copy_from_slice(b)).map_err(|_| PhotoError::Corrupt)?;
    let has_image = [*b"VP8 ", *b"VP8L", *b"ANMF"]
        .into_iter()
        .any(|id| webp.has_chunk(id));
    if !has_image {
        return Err(PhotoError::Corrupt);
    }
    webp.chunks_mut().retain(|c| WEBP_KEEP.contains(&&c.id()));
    for chunk in webp.chunks_mut() {
        if &chunk.id() == b"VP8X"
            && let RiffContent::Data(data) = chunk.content_mut()
            && let Some((flags, rest)) = data.split_first()
        {
            let mut fixed = Vec::with_capacity(data.len());
            fixed.push(flags & !VP8X_METADATA_FLAGS);
            fixed.extend_from_slice(rest);
            *data = Bytes::from(fixed);
        }
    }
    Ok(webp.encoder().bytes().to_vec())
}

/// The sender's file name made safe to store and to send back in a header: the last
/// path component, letters (any script), digits and a few marks, at most 80
/// characters, with the extension of the detected type.
fn sanitise_filename(name: Option<&str>, kind: PhotoKind) -> String {
    let base = name
        .unwrap_or_default()
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or_default();
    let stem = match base.rsplit_once('.') {
        Some((stem, _)) => stem,
        None => base,
    };
    let clean: String = stem
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '-' | '_' | ' ' | '(' | ')' | '（' | '）') {
                c
            } else {
                '_'
            }
        })
        .take(80)
        .collect();
    let clean = clean.trim();
    let stem = if clean.chars().any(char::is_alphanumeric) {
        clean
    } else {
        "photo"
    };
    format!("{stem}.{}", kind.extension())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A real 16×16 JPEG from an encoder.
    pub(crate) fn jpeg() -> Vec<u8> {
        let mut out = Vec::new();
        let pixels: Vec<u8> = (0..16 * 16 * 3).map(|i| (i * 7 % 251) as u8).collect();
        jpeg_encoder::Encoder::new(&mut out, 90)
            .encode(&pixels, 16, 16, jpeg_encoder::ColorType::Rgb)
            .expect("encode");
        out
    }

    /// An EXIF block (little-endian TIFF) whose GPS IFD holds latitude 30°2'N.
    fn exif_with_gps() -> Vec<u8> {
        let mut t = Vec::new();
        t.extend_from_slice(b"II*\0");
        t.extend_from_slice(&8u32.to_le_bytes());
        // IFD0: one entry, GPSInfo (0x8825) → offset 26.
        t.extend_from_slice(&1u16.to_le_bytes());
        t.extend_from_slice(&0x8825u16.to_le_bytes());
        t.extend_from_slice(&4u16.to_le_bytes());
        t.extend_from_slice(&1u32.to_le_bytes());
        t.extend_from_slice(&26u32.to_le_bytes());
        t.extend_from_slice(&0u32.to_le_bytes());
        // GPS IFD at 26: GPSLatitudeRef "N", GPSLatitude (3 rationals at 56).
        t.extend_from_slice(&2u16.to_le_bytes());
        t.extend_from_slice(&1u16.to_le_bytes());
        t.extend_from_slice(&2u16.to_le_bytes());
        t.extend_from_slice(&2u32.to_le_bytes());
        t.extend_from_slice(b"N\0\0\0");
        t.extend_from_slice(&2u16.to_le_bytes());
        t.extend_from_slice(&5u16.to_le_bytes());
        t.extend_from_slice(&3u32.to_le_bytes());
        t.extend_from_slice(&56u32.to_le_bytes());
        t.extend_from_slice(&0u32.to_le_bytes());
        assert_eq!(t.len(), 56);
        for (num, den) in [(30u32, 1u32), (2, 1), (0, 1)] {
            t.extend_from_slice(&num.to_le_bytes());
            t.extend_from_slice(&den.to_le_bytes());
        }
        let mut app1 = b"Exif\0\0".to_vec();
        app1.extend_from_slice(&t);
        app1
    }

    fn segment(marker: u8, body: &[u8]) -> Vec<u8> {
        let mut s = vec![0xFF, marker];
        s.extend_from_slice(&u16::try_from(body.len() + 2).unwrap().to_be_bytes());
        s.extend_from_slice(body);
        s
    }

    /// `jpeg` with segments inserted right after SOI.
    fn with_segments(jpeg: &[u8], segments: &[Vec<u8>]) -> Vec<u8> {
        let mut out = jpeg[..2].to_vec();
        for s in segments {
            out.extend_from_slice(s);
        }
        out.extend_from_slice(&jpeg[2..]);
        out
    }

    fn contains(hay: &[u8], needle: &[u8]) -> bool {
        hay.windows(needle.len()).any(|w| w == needle)
    }

    fn decode(b: &[u8]) -> Vec<u8> {
        jpeg_decoder::Decoder::new(b).decode().expect("decodes")
    }

    #[test]
    fn jpeg_gps_and_other_metadata_are_removed_and_the_pixels_stay() {
        let plain = jpeg();
        let xmp = b"http://ns.adobe.com/xap/1.0/\0<x:xmpmeta><exif:GPSLatitude>30,2N</exif:GPSLatitude></x:xmpmeta>";
        let mut with_meta = with_segments(
            &plain,
            &[
                segment(0xE1, &exif_with_gps()),
                segment(0xE1, xmp),
                segment(0xED, b"Photoshop 3.0\0IPTC city=Yuyao"),
                segment(0xFE, b"shot at home"),
                segment(0xE2, b"MPF\0II*\0"),
            ],
        );
        // A trailing second image, as phones append, with its own EXIF.
        with_meta.extend_from_slice(&with_segments(&plain, &[segment(0xE1, &exif_with_gps())]));
        let p = Photo::parse(with_meta.clone(), Some("现场.JPG")).unwrap();
        assert_eq!(p.kind(), PhotoKind::Jpeg);
        assert_eq!(p.original(), with_meta.as_slice());
        assert!(contains(p.original(), b"Exif\0\0"));
        let public = p.public();
        assert!(public.starts_with(&[0xFF, 0xD8]));
        assert!(public.ends_with(&[0xFF, 0xD9]));
        for gone in [&b"Exif"[..], b"xmpmeta", b"IPTC", b"shot at home", b"MPF\0"] {
            assert!(!contains(public, gone), "{}", String::from_utf8_lossy(gone));
        }
        assert!(
            !public.windows(2).any(|w| w == [0xFF, 0xE1]),
            "no APP1 left"
        );
        assert_eq!(decode(public), decode(&plain), "same pixels");
        assert_eq!(p.filename(), "现场.jpg");
        assert_eq!(p.sha256().len(), 64);
    }

    #[test]
    fn a_plain_jpeg_keeps_its_image_segments() {
        let plain = jpeg();
        let p = Photo::parse(plain.clone(), None).unwrap();
        assert_eq!(decode(p.public()), decode(&plain));
        assert_eq!(p.filename(), "photo.jpg");
    }

    #[test]
    fn broken_or_unknown_files_are_refused_without_panicking() {
        let plain = jpeg();
        assert_eq!(
            Photo::parse(Vec::new(), None).unwrap_err(),
            PhotoError::Empty
        );
        let cut = plain[..plain.len() / 2].to_vec();
        assert_eq!(Photo::parse(cut, None).unwrap_err(), PhotoError::Corrupt);
        for n in 0..plain.len() {
            let _ = Photo::parse(plain[..n].to_vec(), None);
        }
        let text = b"hello, this is not a photo".to_vec();
        assert!(matches!(
            Photo::parse(text, Some("a.jpg")),
            Err(PhotoError::Unsupported(_))
        ));
        let mut heic = vec![0, 0, 0, 24];
        heic.extend_from_slice(b"ftypheic\0\0\0\0mif1heic");
        assert_eq!(
            Photo::parse(heic, Some("IMG_0001.HEIC")).unwrap_err(),
            PhotoError::Unsupported(HEIF)
        );
        let big = vec![0xFF; MAX_PHOTO_BYTES + 1];
        assert_eq!(
            Photo::parse(big, None).unwrap_err(),
            PhotoError::TooLarge {
                size: MAX_PHOTO_BYTES + 1
            }
        );
        assert!(
            PhotoError::TooLarge {
                size: 12 * 1024 * 1024
            }
            .to_string()
            .contains("12.0 MB")
        );
    }

    /// A 1×1 PNG with the given extra chunks before IDAT.
    pub(crate) fn png(extra: &[([u8; 4], &[u8])]) -> Vec<u8> {
        use img_parts::png::PngChunk;
        let ihdr = [0, 0, 0, 1, 0, 0, 0, 1, 8, 2, 0, 0, 0];
        // zlib, stored block: filter byte 0 and one RGB pixel.
        let raw = [0u8, 200, 10, 10];
        let mut idat = vec![0x78, 0x01, 0x01, 4, 0, !4u8, 0xFF];
        idat.extend_from_slice(&raw);
        let (mut a, mut b) = (1u32, 0u32);
        for x in raw {
            a = (a + u32::from(x)) % 65521;
            b = (b + a) % 65521;
        }
        idat.extend_from_slice(&((b << 16) | a).to_be_bytes());
        let mut chunks = vec![PngChunk::new(*b"IHDR", Bytes::copy_from_slice(&ihdr))];
        for (kind, body) in extra {
            chunks.push(PngChunk::new(*kind, Bytes::copy_from_slice(body)));
        }
        chunks.push(PngChunk::new(*b"IDAT", Bytes::from(idat)));
        chunks.push(PngChunk::new(*b"IEND", Bytes::new()));
        let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
        for c in chunks {
            out.extend_from_slice(&c.encoder().bytes());
        }
        out
    }

    #[test]
    fn png_text_and_exif_chunks_are_removed() {
        let exif = exif_with_gps();
        let with_meta = png(&[
            (*b"eXIf", &exif[6..]),
            (*b"tEXt", b"Comment\0at home"),
            (
                *b"iTXt",
                b"XML:com.adobe.xmp\0\0\0\0\0<x:xmpmeta>GPS</x:xmpmeta>",
            ),
            (*b"tIME", &[7, 234, 11, 28, 12, 0, 0]),
            (*b"sRGB", &[0]),
        ]);
        let p = Photo::parse(with_meta, Some("shot.jpg")).unwrap();
        assert_eq!(p.kind(), PhotoKind::Png);
        assert_eq!(p.filename(), "shot.png", "named after the content");
        let kinds: Vec<[u8; 4]> = Png::from_bytes(Bytes::copy_from_slice(p.public()))
            .unwrap()
            .chunks()
            .iter()
            .map(|c| c.kind())
            .collect();
        assert_eq!(kinds, vec![*b"IHDR", *b"sRGB", *b"IDAT", *b"IEND"]);
    }

    #[test]
    fn webp_exif_and_xmp_chunks_and_their_flags_are_removed() {
        let riff = |chunks: &[(&[u8; 4], &[u8])]| {
            let mut body = b"WEBP".to_vec();
            for (id, data) in chunks {
                body.extend_from_slice(*id);
                body.extend_from_slice(&u32::try_from(data.len()).unwrap().to_le_bytes());
                body.extend_from_slice(data);
                if data.len() % 2 == 1 {
                    body.push(0);
                }
            }
            let mut out = b"RIFF".to_vec();
            out.extend_from_slice(&u32::try_from(body.len()).unwrap().to_le_bytes());
            out.extend_from_slice(&body);
            out
        };
        // VP8X with the EXIF and XMP flags set, a 1×1 canvas.
        let vp8x = [0b0000_1100, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        let vp8l = [0x2f, 0, 0, 0, 0];
        let exif = exif_with_gps();
        let with_meta = riff(&[
            (b"VP8X", &vp8x),
            (b"VP8L", &vp8l),
            (b"EXIF", &exif[6..]),
            (b"XMP ", b"<x:xmpmeta>GPS</x:xmpmeta>"),
        ]);
        let p = Photo::parse(with_meta, Some("a.webp")).unwrap();
        assert_eq!(p.kind(), PhotoKind::Webp);
        let w = WebP::from_bytes(Bytes::copy_from_slice(p.public())).unwrap();
        let ids: Vec<[u8; 4]> = w.chunks().iter().map(|c| c.id()).collect();
        assert_eq!(ids, vec![*b"VP8X", *b"VP8L"]);
        let flags = w
            .chunk_by_id(*b"VP8X")
            .and_then(|c| c.content().data())
            .map(|d| d[0]);
        assert_eq!(flags, Some(0));
        assert!(!contains(p.public(), b"xmpmeta"));
    }

    #[test]
    fn file_names_lose_paths_and_odd_characters() {
        let k = PhotoKind::Jpeg;
        assert_eq!(
            sanitise_filename(Some("C:\\Users\\张三\\IMG_01.jpeg"), k),
            "IMG_01.jpg"
        );
        assert_eq!(sanitise_filename(Some("../../etc/passwd"), k), "passwd.jpg");
        assert_eq!(
            sanitise_filename(Some("a\"b<script>\r\n.jpg"), k),
            "a_b_script___.jpg"
        );
        assert_eq!(sanitise_filename(Some("\u{202e}gpj.exe"), k), "_gpj.jpg");
        assert_eq!(sanitise_filename(Some("..."), k), "photo.jpg");
        assert_eq!(sanitise_filename(Some(""), k), "photo.jpg");
        assert_eq!(
            sanitise_filename(Some(&"长".repeat(300)), k)
                .chars()
                .count(),
            84
        );
    }
}
