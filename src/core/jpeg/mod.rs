//! A baseline JPEG decoder for the small pictures VNC servers send in Tight rectangles.
//!
//! x11vnc cuts a changing screen into JPEGs of at most 256×24 pixels and sends about 800 of
//! them a second, all with the same tables. zune-jpeg, which decodes every other JPEG here,
//! rebuilds its Huffman tables for each image (64 % of the time it takes for an 8×8 one),
//! zeroes its buffers, and can only write packed rows, which then have to be copied into
//! the framebuffer. Measured in `cargo bench --bench replay`, those three cost about an
//! eighth of the viewer's time. This decoder does the common case without them:
//!
//! - sequential Huffman (SOF0/SOF1), 8-bit samples, no restart intervals, one scan;
//! - one component (grey), or three (YCbCr) without subsampling;
//! - Huffman and quantisation tables kept from one image to the next and rebuilt only when
//!   an image brings different ones;
//! - a float AAN inverse DCT (as libjpeg's `jidctflt.c`) fused with the colour conversion,
//!   with AVX2 where the CPU has it; blocks without AC coefficients skip the transform;
//! - opaque RGBA written straight into the destination rows, whatever their stride.
//!
//! Anything else (progressive, arithmetic coding, 12-bit, subsampled chroma, restart
//! markers, Adobe colour transforms, a scan using tables its image does not define) is
//! [`Decoded::Unsupported`], before a pixel is written, and the caller hands the image to
//! zune-jpeg. Bad data is a [`JpegError`]; it
//! never panics, and nothing is allocated from sizes the data gives.

use thiserror::Error;

/// What went wrong in a JPEG this decoder set out to decode.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum JpegError {
    #[error("not a JPEG (no start-of-image marker)")]
    NotJpeg,
    #[error("JPEG ends before its picture does")]
    Truncated,
    #[error("JPEG {0} segment is malformed")]
    Segment(&'static str),
    #[error("JPEG marker 0x{0:02x} is not expected here")]
    Marker(u8),
    #[error("JPEG is {got_w}x{got_h}, not the expected {w}x{h}")]
    Size {
        w: u32,
        h: u32,
        got_w: u32,
        got_h: u32,
    },
    #[error("JPEG destination is not the picture's size")]
    Target,
    #[error("JPEG Huffman table is not a valid code")]
    HuffmanTable,
    #[error("JPEG scan uses an undefined {0} table")]
    MissingTable(&'static str),
    #[error("JPEG data holds a Huffman code its table does not have")]
    HuffmanCode,
    #[error("JPEG block runs past its 64 coefficients")]
    BlockOverrun,
}

/// Whether [`Baseline::decode`] decoded the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decoded {
    /// The picture is in the destination.
    Done,
    /// The image uses a feature this decoder leaves to a general one; nothing was written.
    Unsupported,
}

/// Where a picture goes: `w`×`h` RGBA pixels, row `y` starting at byte `y * stride`.
#[derive(Debug)]
pub struct Target<'a> {
    pub pixels: &'a mut [u8],
    pub stride: usize,
    pub w: u32,
    pub h: u32,
}

/// Bits of lookahead in the Huffman tables' first lookup.
const LOOKAHEAD: u32 = 9;
const LOOKUP: usize = 1 << LOOKAHEAD;

/// Zigzag position → natural (row-major) position.
const ZIGZAG: [u8; 64] = [
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20,
    13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59,
    52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
];

/// A Huffman table as a DHT segment gives it: code counts per length 1..=16, then symbols.
struct HuffSpec {
    counts: [u8; 16],
    symbols: Vec<u8>,
}

/// A Huffman table ready for decoding.
struct Huffman {
    /// What it was built from, to tell whether the next image brings the same table.
    spec: HuffSpec,
    /// By the next 9 bits: `length << 8 | symbol` for codes of up to 9 bits, else 0.
    lookup: [u16; LOOKUP],
    /// AC tables only, by the next 9 bits: when a code and its extra bits fit in 9, the
    /// coefficient `value << 8 | run << 4 | bits used`; else 0.
    fast_ac: [i32; LOOKUP],
    /// The largest code of each length (index = length), -1 where there is none.
    max_code: [i32; 18],
    /// Added to a code of each length to give its symbol's index in `spec.symbols`.
    offset: [i32; 17],
}

impl Huffman {
    fn new(spec: HuffSpec, ac: bool) -> Result<Box<Huffman>, JpegError> {
        let mut h = Box::new(Huffman {
            lookup: [0; LOOKUP],
            fast_ac: [0; LOOKUP],
            max_code: [-1; 18],
            offset: [0; 17],
            spec,
        });
        let spec = &h.spec;
        // Canonical codes (JPEG annex C): each length's codes follow the previous length's,
        // shifted left by one.
        let mut code: u32 = 0;
        let mut index: usize = 0;
        for len in 1..=16usize {
            let count = usize::from(spec.counts[len - 1]);
            if count > 0 {
                h.offset[len] = index as i32 - code as i32;
                for _ in 0..count {
                    // Each code must fit its length and not be all ones.
                    if code >= (1 << len) - 1 {
                        return Err(JpegError::HuffmanTable);
                    }
                    let symbol = spec.symbols[index];
                    if len as u32 <= LOOKAHEAD {
                        let shift = LOOKAHEAD - len as u32;
                        let first = (code << shift) as usize;
                        for look in first..first + (1 << shift) {
                            h.lookup[look] = ((len as u16) << 8) | u16::from(symbol);
                            if ac {
                                h.fast_ac[look] = fast_ac_entry(look, len as u32, symbol);
                            }
                        }
                    }
                    code += 1;
                    index += 1;
                }
                h.max_code[len] = code as i32 - 1;
            }
            code <<= 1;
        }
        Ok(h)
    }
}

/// The `fast_ac` entry for lookahead bits `look` that start with a code of `len` bits for
/// `symbol` (run << 4 | size), or 0 when the coefficient's bits do not fit in the lookahead.
fn fast_ac_entry(look: usize, len: u32, symbol: u8) -> i32 {
    let run = i32::from(symbol >> 4);
    let size = u32::from(symbol & 15);
    if size == 0 || len + size > LOOKAHEAD {
        return 0;
    }
    let bits = (look >> (LOOKAHEAD - len - size)) as i32 & ((1 << size) - 1);
    let value = extend(bits, size);
    (value << 8) | (run << 4) | (len + size) as i32
}

/// A coefficient's value from its `size` extra bits (JPEG F.2.2.1).
#[inline(always)]
fn extend(bits: i32, size: u32) -> i32 {
    if bits < (1 << (size - 1)) {
        bits - (1 << size) + 1
    } else {
        bits
    }
}

#[derive(Clone, Copy, Default)]
struct Component {
    id: u8,
    quant: usize,
    dc: usize,
    ac: usize,
}

/// The decoder. Keep one per connection: its tables carry over from image to image.
pub struct Baseline {
    dc: [Option<Box<Huffman>>; 4],
    ac: [Option<Box<Huffman>>; 4],
    /// Quantisation tables as the DQT segments give them, in zigzag order.
    quant_raw: [Option<[u16; 64]>; 4],
    /// The same, in zigzag order, scaled for the AAN transform and its final division by 8.
    quant: [[f32; 64]; 4],
    /// One block's dequantised coefficients per component, in natural order. All zero
    /// between blocks.
    coef: Box<[[f32; 64]; 3]>,
    avx2: bool,
}

impl std::fmt::Debug for Baseline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Baseline")
            .field("avx2", &self.avx2)
            .finish()
    }
}

impl Default for Baseline {
    fn default() -> Self {
        Self::new()
    }
}

/// The AAN scale factors: 1, then cos(kπ/16)·√2.
fn aan_scale(k: usize) -> f64 {
    if k == 0 {
        1.0
    } else {
        (k as f64 * std::f64::consts::PI / 16.0).cos() * std::f64::consts::SQRT_2
    }
}

impl Baseline {
    pub fn new() -> Self {
        #[cfg(target_arch = "x86_64")]
        let avx2 = std::arch::is_x86_feature_detected!("avx2");
        #[cfg(not(target_arch = "x86_64"))]
        let avx2 = false;
        Self::with_simd(avx2)
    }

    /// A decoder that uses AVX2 only if `avx2` is true and the CPU has it.
    pub fn with_simd(avx2: bool) -> Self {
        #[cfg(target_arch = "x86_64")]
        let avx2 = avx2 && std::arch::is_x86_feature_detected!("avx2");
        #[cfg(not(target_arch = "x86_64"))]
        let avx2 = avx2 && false;
        Self {
            dc: Default::default(),
            ac: Default::default(),
            quant_raw: [None; 4],
            quant: [[0.0; 64]; 4],
            coef: Box::new([[0.0; 64]; 3]),
            avx2,
        }
    }

    /// Decodes `data` into `out`, whose size the image must have.
    pub fn decode(&mut self, data: &[u8], out: Target<'_>) -> Result<Decoded, JpegError> {
        if data.get(..2) != Some(&[0xff, 0xd8]) {
            return Err(JpegError::NotJpeg);
        }
        let mut pos = 2;
        let mut frame: Option<(u32, u32, usize, [Component; 3])> = None;
        // The tables this image defines: bits 0-3 quantisation, 4-7 DC, 8-11 AC.
        let mut defined = 0u16;
        loop {
            // A marker: 0xFF, any fill 0xFFs, then its code.
            if data.get(pos) != Some(&0xff) {
                return Err(if pos >= data.len() {
                    JpegError::Truncated
                } else {
                    JpegError::Segment("marker")
                });
            }
            while data.get(pos) == Some(&0xff) {
                pos += 1;
            }
            let Some(&marker) = data.get(pos) else {
                return Err(JpegError::Truncated);
            };
            pos += 1;
            if matches!(marker, 0x01 | 0xd0..=0xd9) {
                // Standalone markers: none belongs before the scan.
                return Err(JpegError::Marker(marker));
            }
            let len = match data.get(pos..pos + 2) {
                Some(b) => usize::from(u16::from_be_bytes([b[0], b[1]])),
                None => return Err(JpegError::Truncated),
            };
            if len < 2 {
                return Err(JpegError::Segment("marker length"));
            }
            let Some(body) = data.get(pos + 2..pos + len) else {
                return Err(JpegError::Truncated);
            };
            pos += len;
            match marker {
                0xc0 | 0xc1 => match parse_frame(body)? {
                    Some(f) => frame = Some(f),
                    None => return Ok(Decoded::Unsupported),
                },
                // Progressive, lossless, hierarchical or arithmetic-coded frames, and
                // arithmetic conditioning.
                0xc2 | 0xc3 | 0xc5..=0xcf => return Ok(Decoded::Unsupported),
                0xc4 => defined |= self.parse_huffman(body)?,
                0xdb => defined |= self.parse_quant(body)?,
                0xdd => {
                    if body.len() != 2 {
                        return Err(JpegError::Segment("DRI"));
                    }
                    if body != [0, 0] {
                        return Ok(Decoded::Unsupported);
                    }
                }
                // Adobe's segment may say the three components are RGB or CMYK.
                0xee => return Ok(Decoded::Unsupported),
                0xda => {
                    let Some((w, h, n, comps)) = frame else {
                        return Err(JpegError::Marker(marker));
                    };
                    if (w, h) != (out.w, out.h) {
                        return Err(JpegError::Size {
                            w: out.w,
                            h: out.h,
                            got_w: w,
                            got_h: h,
                        });
                    }
                    let Some(comps) = parse_scan(body, n, comps)? else {
                        return Ok(Decoded::Unsupported);
                    };
                    // A table kept from an earlier image is not necessarily the one this
                    // image means: without a DHT segment a JPEG means the standard tables,
                    // which zune-jpeg supplies.
                    let uses = comps[..n].iter().fold(0u16, |m, c| {
                        m | 1 << c.quant | 1 << (4 + c.dc) | 1 << (8 + c.ac)
                    });
                    if uses & !defined != 0 {
                        return Ok(Decoded::Unsupported);
                    }
                    return self.scan(&data[pos..], &comps[..n], out);
                }
                _ => {}
            }
        }
    }

    /// Reads a DHT segment; returns the tables it defines as bits 4-7 (DC) and 8-11 (AC).
    fn parse_huffman(&mut self, mut body: &[u8]) -> Result<u16, JpegError> {
        let mut defined = 0;
        while let Some((&tc_th, rest)) = body.split_first() {
            let (class, id) = (tc_th >> 4, usize::from(tc_th & 15));
            let Some((counts, rest)) = rest.split_first_chunk::<16>() else {
                return Err(JpegError::Segment("DHT"));
            };
            let n: usize = counts.iter().map(|&c| usize::from(c)).sum();
            if class > 1 || id > 3 || n > 256 || rest.len() < n {
                return Err(JpegError::Segment("DHT"));
            }
            let symbols = &rest[..n];
            body = &rest[n..];
            let tables = if class == 0 {
                &mut self.dc
            } else {
                &mut self.ac
            };
            let same = tables[id]
                .as_ref()
                .is_some_and(|t| t.spec.counts == *counts && t.spec.symbols == symbols);
            defined |= 1 << (4 + 4 * usize::from(class) + id);
            if !same {
                let spec = HuffSpec {
                    counts: *counts,
                    symbols: symbols.to_vec(),
                };
                // Forget the old table first, so a bad new one leaves none behind.
                tables[id] = None;
                tables[id] = Some(Huffman::new(spec, class == 1)?);
            }
        }
        Ok(defined)
    }

    /// Reads a DQT segment; returns the tables it defines as bits 0-3.
    fn parse_quant(&mut self, mut body: &[u8]) -> Result<u16, JpegError> {
        let mut defined = 0;
        while let Some((&pq_tq, rest)) = body.split_first() {
            let (precision, id) = (pq_tq >> 4, usize::from(pq_tq & 15));
            let size = if precision == 0 { 64 } else { 128 };
            if precision > 1 || id > 3 || rest.len() < size {
                return Err(JpegError::Segment("DQT"));
            }
            let mut table = [0u16; 64];
            for (i, q) in table.iter_mut().enumerate() {
                *q = if precision == 0 {
                    u16::from(rest[i])
                } else {
                    u16::from_be_bytes([rest[2 * i], rest[2 * i + 1]])
                };
            }
            body = &rest[size..];
            if self.quant_raw[id] != Some(table) {
                self.quant_raw[id] = Some(table);
                for (k, &q) in table.iter().enumerate() {
                    let natural = usize::from(ZIGZAG[k]);
                    let scale = aan_scale(natural / 8) * aan_scale(natural % 8) / 8.0;
                    self.quant[id][k] = (f64::from(q) * scale) as f32;
                }
            }
            defined |= 1 << id;
        }
        Ok(defined)
    }

    /// Decodes the entropy-coded data of an interleaved scan of all components.
    fn scan(
        &mut self,
        data: &[u8],
        comps: &[Component],
        out: Target<'_>,
    ) -> Result<Decoded, JpegError> {
        // `decode` has checked that this image defines every table the scan uses; each
        // component's Huffman tables, found once.
        let find = |c: &Component| {
            let dc = self.dc[c.dc].as_deref()?;
            let ac = self.ac[c.ac].as_deref()?;
            Some((dc, ac))
        };
        let mut huffman = [find(&comps[0]).ok_or(JpegError::MissingTable("Huffman"))?; 3];
        for (t, c) in huffman.iter_mut().zip(comps).skip(1) {
            *t = find(c).ok_or(JpegError::MissingTable("Huffman"))?;
        }
        let Target {
            pixels,
            stride,
            w,
            h,
        } = out;
        let (w, h) = (w as usize, h as usize);
        if w == 0 || h == 0 || stride < w * 4 || pixels.len() < (h - 1) * stride + w * 4 {
            return Err(JpegError::Target);
        }
        // A block left half-decoded by an earlier bad image must not leak into this one.
        *self.coef = [[0.0; 64]; 3];
        let mut bits = Bits::new(data);
        let mut pred = [0i32; 3];
        let mut has_ac = [false; 3];
        let mut edge = [0u8; 8 * 32];
        let n = comps.len();
        for my in 0..h.div_ceil(8) {
            for mx in 0..w.div_ceil(8) {
                for (i, c) in comps.iter().enumerate() {
                    let (dc, ac) = huffman[i];
                    has_ac[i] = bits.block(
                        dc,
                        ac,
                        &self.quant[c.quant],
                        &mut self.coef[i],
                        &mut pred[i],
                    )?;
                }
                if bits.overran() {
                    return Err(JpegError::Truncated);
                }
                let (x, y) = (mx * 8, my * 8);
                let (bw, bh) = ((w - x).min(8), (h - y).min(8));
                let whole = bw == 8 && bh == 8;
                let (dst, dst_stride) = if whole {
                    (&mut pixels[y * stride + x * 4..], stride)
                } else {
                    (&mut edge[..], 32)
                };
                render(self.avx2, &mut self.coef, &has_ac, n, dst, dst_stride);
                if !whole {
                    for row in 0..bh {
                        let at = (y + row) * stride + x * 4;
                        pixels[at..at + bw * 4].copy_from_slice(&edge[row * 32..row * 32 + bw * 4]);
                    }
                }
            }
        }
        Ok(Decoded::Done)
    }
}

/// Reads SOF0/SOF1: `None` for a frame this decoder leaves to another.
#[allow(clippy::type_complexity)]
fn parse_frame(body: &[u8]) -> Result<Option<(u32, u32, usize, [Component; 3])>, JpegError> {
    let Some((head, rest)) = body.split_first_chunk::<6>() else {
        return Err(JpegError::Segment("SOF"));
    };
    let precision = head[0];
    let h = u32::from(u16::from_be_bytes([head[1], head[2]]));
    let w = u32::from(u16::from_be_bytes([head[3], head[4]]));
    let n = usize::from(head[5]);
    if rest.len() != n * 3 || n == 0 {
        return Err(JpegError::Segment("SOF"));
    }
    // Height 0 means a DNL marker gives it later.
    if precision != 8 || h == 0 || w == 0 || !(n == 1 || n == 3) {
        return Ok(None);
    }
    let mut comps = [Component::default(); 3];
    for (i, c) in rest.chunks_exact(3).enumerate() {
        let quant = usize::from(c[2]);
        if quant > 3 || c[1] >> 4 == 0 || c[1] & 15 == 0 {
            return Err(JpegError::Segment("SOF"));
        }
        // Subsampled chroma is left to zune-jpeg. One component's sampling does not matter.
        if n == 3 && c[1] != 0x11 {
            return Ok(None);
        }
        comps[i] = Component {
            id: c[0],
            quant,
            ..Component::default()
        };
    }
    // Components named R, G, B hold RGB, not YCbCr.
    if n == 3 && comps.iter().map(|c| c.id).eq(*b"RGB") {
        return Ok(None);
    }
    Ok(Some((w, h, n, comps)))
}

/// Whether every frame header (SOF) in a JPEG gives each component after the first
/// either 1×1 sampling or the first one's, the first's being 1 or 2 each way: the layouts
/// encoders write (grey, 4:4:4, 4:2:2, 4:4:0, 4:2:0). zune-jpeg 0.5.15 panics on some
/// others (an assertion in its AVX2 upsampler, found by fuzzing: `fuzz/`), so callers
/// refuse them before handing an image over. Every `FF Cn` that reads as a frame header
/// counts, wherever it stands, since a decoder that skips garbage may find it.
pub fn common_sampling(data: &[u8]) -> bool {
    let mut rest = data;
    while let Some(at) = rest.iter().position(|&b| b == 0xff) {
        rest = &rest[at + 1..];
        let is_sof = matches!(
            rest.first(),
            Some(0xc0..=0xc3 | 0xc5..=0xc7 | 0xc9..=0xcb | 0xcd..=0xcf)
        );
        // Code, length (2), precision, height (2), width (2), component count.
        let Some(&[_, _, _, _, _, _, _, _, n]) = rest.get(..9).filter(|_| is_sof) else {
            continue;
        };
        let comps = rest.get(9..9 + 3 * usize::from(n)).unwrap_or_default();
        let mut factors = comps.chunks_exact(3).map(|c| (c[1] >> 4, c[1] & 15));
        let Some(first) = factors.next() else {
            continue;
        };
        let common = matches!(first, (1..=2, 1..=2)) || comps.len() == 3;
        if !common || !factors.all(|f| f == (1, 1) || f == first) {
            return false;
        }
    }
    true
}

/// Reads SOS: the frame's components with their Huffman tables, or `None` for a scan this
/// decoder leaves to another (not all components, or not a sequential one).
fn parse_scan(
    body: &[u8],
    n: usize,
    mut comps: [Component; 3],
) -> Result<Option<[Component; 3]>, JpegError> {
    let Some((&ns, rest)) = body.split_first() else {
        return Err(JpegError::Segment("SOS"));
    };
    let ns = usize::from(ns);
    if rest.len() != ns * 2 + 3 || ns == 0 || ns > 4 {
        return Err(JpegError::Segment("SOS"));
    }
    let tail = &rest[ns * 2..];
    if ns != n || tail != [0, 63, 0] {
        return Ok(None);
    }
    for (c, sel) in comps[..n].iter_mut().zip(rest[..ns * 2].chunks_exact(2)) {
        let (dc, ac) = (usize::from(sel[1] >> 4), usize::from(sel[1] & 15));
        if sel[0] != c.id || dc > 3 || ac > 3 {
            return Err(JpegError::Segment("SOS"));
        }
        c.dc = dc;
        c.ac = ac;
    }
    Ok(Some(comps))
}

/// The entropy-coded data as a bit stream, most significant bit first, with stuffed zero
/// bytes removed. At a marker or the end it reads zero bits and counts them.
struct Bits<'a> {
    data: &'a [u8],
    pos: usize,
    /// The next bits, left-aligned; those below `count` are zero.
    buf: u64,
    count: u32,
    /// Zero bytes fed in past the data's end.
    padding: u32,
}

impl<'a> Bits<'a> {
    fn new(data: &'a [u8]) -> Self {
        let mut b = Self {
            data,
            pos: 0,
            buf: 0,
            count: 0,
            padding: 0,
        };
        b.refill();
        b
    }

    /// Fills the buffer to at least 56 bits (a block step needs at most 32).
    #[inline(always)]
    fn refill(&mut self) {
        if self.count > 56 {
            return;
        }
        // Eight bytes at once when none is 0xFF (no stuffing, no marker).
        if let Some(next) = self.data.get(self.pos..).and_then(|d| d.first_chunk::<8>()) {
            let word = u64::from_be_bytes(*next);
            let not = !word;
            let has_ff = not.wrapping_sub(0x0101_0101_0101_0101) & word & 0x8080_8080_8080_8080;
            if has_ff == 0 {
                let take = (63 - self.count) >> 3;
                self.buf |= word >> self.count;
                self.pos += take as usize;
                self.count += take * 8;
                self.buf &= !(u64::MAX >> self.count);
                return;
            }
        }
        self.refill_bytes();
    }

    #[cold]
    fn refill_bytes(&mut self) {
        while self.count <= 56 {
            let byte = match self.data.get(self.pos..) {
                Some([0xff, 0x00, ..]) => {
                    self.pos += 2;
                    0xff
                }
                Some([0xff, ..]) | Some([]) | None => {
                    // A marker or the end: what follows is padding.
                    self.padding = self.padding.saturating_add(1);
                    0
                }
                Some([b, ..]) => {
                    self.pos += 1;
                    *b
                }
            };
            self.buf |= u64::from(byte) << (56 - self.count);
            self.count += 8;
        }
    }

    /// Whether bits past the data's end have been consumed.
    fn overran(&self) -> bool {
        u64::from(self.padding) * 8 > u64::from(self.count)
    }

    #[inline(always)]
    fn consume(&mut self, n: u32) {
        self.buf <<= n;
        self.count -= n;
    }

    /// The next `n` (1..=16) bits as a number.
    #[inline(always)]
    fn take(&mut self, n: u32) -> i32 {
        let v = (self.buf >> (64 - n)) as i32;
        self.consume(n);
        v
    }

    /// Decodes one Huffman symbol. Needs 16 bits in the buffer.
    #[inline(always)]
    fn symbol(&mut self, h: &Huffman) -> Result<u8, JpegError> {
        let entry = h.lookup[(self.buf >> (64 - LOOKAHEAD)) as usize];
        if entry != 0 {
            self.consume(u32::from(entry >> 8));
            return Ok(entry as u8);
        }
        self.symbol_long(h)
    }

    #[cold]
    fn symbol_long(&mut self, h: &Huffman) -> Result<u8, JpegError> {
        for len in LOOKAHEAD + 1..=16 {
            let code = (self.buf >> (64 - len)) as i32;
            if code <= h.max_code[len as usize] {
                self.consume(len);
                let index = usize::try_from(code + h.offset[len as usize]);
                let symbol = index.ok().and_then(|i| h.spec.symbols.get(i));
                return symbol.copied().ok_or(JpegError::HuffmanCode);
            }
        }
        Err(JpegError::HuffmanCode)
    }

    /// Decodes one block into `coef` (natural order, dequantised and scaled), returning
    /// whether it has AC coefficients. `coef` must be all zero but for what this writes.
    #[inline(always)]
    fn block(
        &mut self,
        dc: &Huffman,
        ac: &Huffman,
        quant: &[f32; 64],
        coef: &mut [f32; 64],
        pred: &mut i32,
    ) -> Result<bool, JpegError> {
        self.refill();
        let size = u32::from(self.symbol(dc)?);
        if size > 0 {
            if size > 16 {
                return Err(JpegError::HuffmanCode);
            }
            let bits = self.take(size);
            *pred = pred.wrapping_add(extend(bits, size));
        }
        coef[0] = *pred as f32 * quant[0];
        let mut k = 1usize;
        let mut any = false;
        while k < 64 {
            if self.count < 32 {
                self.refill();
            }
            let fast = ac.fast_ac[(self.buf >> (64 - LOOKAHEAD)) as usize];
            if fast != 0 {
                self.consume((fast & 15) as u32);
                k += ((fast >> 4) & 15) as usize;
                if k > 63 {
                    return Err(JpegError::BlockOverrun);
                }
                coef[usize::from(ZIGZAG[k])] = (fast >> 8) as f32 * quant[k];
                k += 1;
                any = true;
                continue;
            }
            let rs = self.symbol(ac)?;
            let (run, size) = (usize::from(rs >> 4), u32::from(rs & 15));
            if size == 0 {
                if run != 15 {
                    break;
                }
                k += 16;
                continue;
            }
            k += run;
            if k > 63 {
                return Err(JpegError::BlockOverrun);
            }
            let bits = self.take(size);
            coef[usize::from(ZIGZAG[k])] = extend(bits, size) as f32 * quant[k];
            k += 1;
            any = true;
        }
        Ok(any)
    }
}

/// Turns one MCU's blocks (`n` components, 1 or 3) into 8×8 RGBA pixels at `dst`, rows
/// `stride` bytes apart, and zeroes the blocks for the next MCU.
fn render(
    avx2: bool,
    coef: &mut [[f32; 64]; 3],
    has_ac: &[bool; 3],
    n: usize,
    dst: &mut [u8],
    stride: usize,
) {
    let dst = &mut dst[..7 * stride + 32];
    #[cfg(target_arch = "x86_64")]
    if avx2 {
        // SAFETY: `avx2` is only true when the CPU has AVX2 (`Baseline::with_simd`), and
        // `dst` holds 8 rows of 32 bytes `stride` apart (sliced above).
        #[allow(unsafe_code)]
        unsafe {
            avx2::render(coef, has_ac, n, dst, stride)
        };
        return;
    }
    let _ = avx2;
    scalar::render(coef, has_ac, n, dst, stride);
}

/// The 1-D AAN inverse DCT of libjpeg's `jidctflt.c` on eight lanes at once: `$v` is eight
/// vectors, the inputs 0..7 in, the outputs 0..7 out. Written once for the scalar and the
/// AVX2 lanes so that both do the same operations in the same order.
macro_rules! idct_1d {
    ($v:ident, $add:path, $sub:path, $mul:path, $splat:path) => {{
        // Even part.
        let tmp10 = $add($v[0], $v[4]);
        let tmp11 = $sub($v[0], $v[4]);
        let tmp13 = $add($v[2], $v[6]);
        let tmp12 = $sub(
            $mul($sub($v[2], $v[6]), $splat(std::f32::consts::SQRT_2)),
            tmp13,
        );
        let e0 = $add(tmp10, tmp13);
        let e3 = $sub(tmp10, tmp13);
        let e1 = $add(tmp11, tmp12);
        let e2 = $sub(tmp11, tmp12);
        // Odd part.
        let z13 = $add($v[5], $v[3]);
        let z10 = $sub($v[5], $v[3]);
        let z11 = $add($v[1], $v[7]);
        let z12 = $sub($v[1], $v[7]);
        let o7 = $add(z11, z13);
        let o11 = $mul($sub(z11, z13), $splat(std::f32::consts::SQRT_2));
        let z5 = $mul($add(z10, z12), $splat(1.847_759));
        let o10 = $sub(z5, $mul(z12, $splat(1.082_392_2)));
        let o12 = $sub(z5, $mul(z10, $splat(2.613_126)));
        let o6 = $sub(o12, o7);
        let o5 = $sub(o11, o6);
        let o4 = $sub(o10, o5);
        $v[0] = $add(e0, o7);
        $v[7] = $sub(e0, o7);
        $v[1] = $add(e1, o6);
        $v[6] = $sub(e1, o6);
        $v[2] = $add(e2, o5);
        $v[5] = $sub(e2, o5);
        $v[3] = $add(e3, o4);
        $v[4] = $sub(e3, o4);
    }};
}

/// YCbCr (the transform's outputs, before the +128 level shift) to RGB, as JFIF defines it.
const CR_R: f32 = 1.402;
const CB_G: f32 = 0.344_136;
const CR_G: f32 = 0.714_136;
const CB_B: f32 = 1.772;

/// The portable lanes: `[f32; 8]`.
mod scalar;

/// The same with AVX2 registers.
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
mod avx2;

#[cfg(test)]
mod tests;
