//! The counting proxy between one viewer and the RFB server, on 127.0.0.1.
//!
//! Each accepted connection gets two named threads. Client→server: whole messages are read,
//! counted and then forwarded (version, security choice, ClientInit, then SetPixelFormat (0),
//! SetEncodings (2), FramebufferUpdateRequest (3), KeyEvent (4), PointerEvent (5),
//! ClientCutText (6), EnableContinuousUpdates (150), Fence (248), SetDesktopSize (251) and
//! the QEMU key event (255)), so the client's pixel format is stored before the server can
//! answer in it. Server→client: every chunk is forwarded as soon as it is read ([`Tee`]);
//! the copy is then walked: handshake (security None only), ServerInit, and
//! FramebufferUpdate (0: `pad, count: u16`, then `x, y, w, h: u16, encoding: i32` and a
//! payload per rectangle), SetColourMapEntries (1), Bell (2), ServerCutText (3),
//! EndOfContinuousUpdates (150) and Fence (248). Payloads are skipped by their framing:
//! Raw, CopyRect, RRE, Hextile, Zlib, ZRLE, Tight (fill, JPEG, basic with its filters),
//! the cursor pseudo-encodings and the size/position ones. Whatever cannot be walked is
//! noted in [`Notes::unparsed`] and from then on only forwarded and counted in bytes.

use std::collections::BTreeMap;
use std::io::{self, BufReader, Read, Write};
use std::net::{Ipv4Addr, Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use lookout::core::source::rfb::encoding_name;
use lookout::core::source::rfb::encodings as enc;

use crate::process::{Proc, READY_TIMEOUT};

/// Client messages longer than this are not parsed (only forwarded).
const MAX_CLIENT_MESSAGE_BYTES: usize = 16 << 20;
const LOCALHOST: Ipv4Addr = Ipv4Addr::LOCALHOST;

/// What the proxy counted; the main thread samples it.
#[derive(Default)]
pub struct Counters {
    pub to_server_bytes: AtomicU64,
    pub to_client_bytes: AtomicU64,
    /// FramebufferUpdateRequests the client sent.
    pub requests: AtomicU64,
    /// FramebufferUpdates the server finished sending.
    pub updates: AtomicU64,
    /// Pixels covered by picture rectangles (pseudo-encodings left out).
    pub picture_pixels: AtomicU64,
    /// The client's pixel format as `bytes per pixel << 8 | Tight TPIXEL bytes`; 0 unknown.
    pixel_format: AtomicU32,
    notes: Mutex<Notes>,
}

/// Slower-changing facts, for the report.
#[derive(Default)]
pub struct Notes {
    encodings: Vec<i32>,
    client_messages: BTreeMap<&'static str, u64>,
    pub rect_kinds: BTreeMap<&'static str, u64>,
    unparsed: Vec<String>,
}

impl Counters {
    pub fn notes(&self) -> MutexGuard<'_, Notes> {
        self.notes.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn note_client_message(&self, kind: &'static str) {
        *self.notes().client_messages.entry(kind).or_default() += 1;
    }

    fn note_rect(&self, kind: &'static str) {
        *self.notes().rect_kinds.entry(kind).or_default() += 1;
    }

    fn note_unparsed(&self, why: String) {
        self.notes().unparsed.push(why);
    }
}

impl Notes {
    pub fn summary(&self) -> String {
        let encodings: Vec<String> = self
            .encodings
            .iter()
            .map(|&id| match encoding_name(id) {
                "unknown" => other_encoding_name(id),
                "JPEG quality" => format!("JPEG q{}", id - enc::JPEG_QUALITY_0),
                "compress level" => format!("compress {}", id - enc::COMPRESS_LEVEL_0),
                name => name.to_owned(),
            })
            .collect();
        let messages: Vec<String> = self
            .client_messages
            .iter()
            .map(|(kind, n)| format!("{kind} {n}"))
            .collect();
        let mut text = format!(
            "asked for [{}]; client sent {{{}}}",
            encodings.join(", "),
            messages.join(", ")
        );
        if !self.unparsed.is_empty() {
            text.push_str(&format!("; NOT PARSED: {}", self.unparsed.join("; ")));
        }
        text
    }
}

/// Names of the pseudo-encodings TigerVNC asks for that Lookout's table lacks.
fn other_encoding_name(id: i32) -> String {
    match id as u32 {
        0xFFFF_FEC6 => "CursorWithAlpha".into(),   // -314
        0xFFFF_FECD => "DesktopName".into(),       // -307
        0xFFFF_FEC8 => "Fence".into(),             // -312
        0xFFFF_FEC7 => "ContinuousUpdates".into(), // -313
        0x574D_5664 => "VMwareCursor".into(),
        0x574D_5666 => "VMwareCursorPosition".into(),
        0xC0A1_E5CE => "ExtendedClipboard".into(),
        _ => id.to_string(),
    }
}

/// A loopback listener that relays each connection to the RFB server and counts.
pub struct Proxy {
    pub port: u16,
    pub counters: Arc<Counters>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Proxy {
    pub fn start(upstream: u16) -> Result<Self> {
        let listener = TcpListener::bind((LOCALHOST, 0)).context("binding the proxy")?;
        listener.set_nonblocking(true)?;
        let port = listener.local_addr()?.port();
        let counters = Arc::new(Counters::default());
        let stop = Arc::new(AtomicBool::new(false));
        let thread = thread::Builder::new().name("proxy-accept".into()).spawn({
            let (counters, stop) = (counters.clone(), stop.clone());
            move || accept_loop(&listener, upstream, &counters, &stop)
        })?;
        Ok(Self {
            port,
            counters,
            stop,
            thread: Some(thread),
        })
    }

    /// Waits until the server has sent the client one whole update.
    pub fn wait_for_update(&self, client: &mut Proc) -> Result<()> {
        let deadline = Instant::now() + READY_TIMEOUT;
        while self.counters.updates.load(Ordering::Relaxed) == 0 {
            client.check_alive()?;
            if Instant::now() >= deadline {
                bail!(
                    "no update reached the client within {READY_TIMEOUT:?}; log:\n{}",
                    client.log_tail()
                );
            }
            thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// One relayed connection: both sockets (to shut them down) and the two relay threads.
struct Relay {
    client: TcpStream,
    server: TcpStream,
    threads: [JoinHandle<()>; 2],
}

fn accept_loop(listener: &TcpListener, upstream: u16, counters: &Arc<Counters>, stop: &AtomicBool) {
    let mut relays = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        match listener.accept() {
            Ok((client, _)) => match start_relay(client, upstream, counters) {
                Ok(relay) => relays.push(relay),
                Err(err) => eprintln!("proxy: cannot relay a connection: {err:#}"),
            },
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                thread::sleep(Duration::from_millis(20));
            }
            Err(err) => {
                eprintln!("proxy: accept failed: {err}");
                break;
            }
        }
    }
    for relay in relays {
        let _ = relay.client.shutdown(Shutdown::Both);
        let _ = relay.server.shutdown(Shutdown::Both);
        for thread in relay.threads {
            let _ = thread.join();
        }
    }
}

fn start_relay(client: TcpStream, upstream: u16, counters: &Arc<Counters>) -> Result<Relay> {
    client.set_nonblocking(false)?;
    let server = TcpStream::connect((LOCALHOST, upstream)).context("connecting to x11vnc")?;
    client.set_nodelay(true)?;
    server.set_nodelay(true)?;
    let to_server = thread::Builder::new()
        .name("proxy-to-server".into())
        .spawn({
            let mut relay = ClientMessages {
                from: BufReader::new(client.try_clone()?),
                to: server.try_clone()?,
                msg: Vec::with_capacity(256),
                counters: counters.clone(),
            };
            move || {
                if let Err(why) = relay.run() {
                    relay.fall_back(why);
                }
                let _ = relay.to.shutdown(Shutdown::Write);
            }
        })?;
    let to_client = thread::Builder::new()
        .name("proxy-to-client".into())
        .spawn({
            let counters = counters.clone();
            let tee = Tee {
                from: server.try_clone()?,
                to: client.try_clone()?,
                counters: counters.clone(),
                capture: capture_file()?,
            };
            let mut walker = ServerMessages {
                r: BufReader::with_capacity(256 * 1024, tee),
                counters,
            };
            move || {
                if let Err(why) = walker.run() {
                    walker.fall_back(why);
                }
                let _ = walker.r.get_ref().to.shutdown(Shutdown::Write);
            }
        })?;
    Ok(Relay {
        client,
        server,
        threads: [to_server, to_client],
    })
}

/// With `LOOKOUT_PEERS_CAPTURE=PATH`, each client connection's server→client bytes go to
/// `PATH.N` (N counting connections from 1): a real x11vnc session to replay offline
/// (`cargo bench --bench replay`).
fn capture_file() -> Result<Option<std::fs::File>> {
    static CONNECTIONS: AtomicU32 = AtomicU32::new(0);
    let Some(path) = std::env::var_os("LOOKOUT_PEERS_CAPTURE") else {
        return Ok(None);
    };
    let n = CONNECTIONS.fetch_add(1, Ordering::Relaxed) + 1;
    let mut path = std::path::PathBuf::from(path).into_os_string();
    path.push(format!(".{n}"));
    let file = std::fs::File::create(&path).with_context(|| format!("creating {path:?}"))?;
    Ok(Some(file))
}

/// Why parsing a direction stopped: the stream ended, or we met something we do not know.
enum Stop {
    Ended,
    Unknown(String),
}

impl From<io::Error> for Stop {
    fn from(_: io::Error) -> Self {
        Stop::Ended
    }
}

fn unknown<T>(why: impl Into<String>) -> Result<T, Stop> {
    Err(Stop::Unknown(why.into()))
}

/// The "RFB 003.00x\n" minor version.
fn minor_version(version: &[u8]) -> Result<u8, Stop> {
    match version
        .get(8..11)
        .map(|d| std::str::from_utf8(d).map(str::parse::<u8>))
    {
        Some(Ok(Ok(minor))) if version.starts_with(b"RFB 003.") => Ok(minor),
        _ => unknown(format!("version {:?}", String::from_utf8_lossy(version))),
    }
}

/// Client→server: read one whole message, count it, then forward it.
struct ClientMessages {
    from: BufReader<TcpStream>,
    to: TcpStream,
    msg: Vec<u8>,
    counters: Arc<Counters>,
}

impl ClientMessages {
    /// Reads `n` more bytes of the current message.
    fn take(&mut self, n: usize) -> Result<&[u8], Stop> {
        if self.msg.len() + n > MAX_CLIENT_MESSAGE_BYTES {
            return unknown(format!("client message of {n} bytes"));
        }
        let start = self.msg.len();
        self.msg.resize(start + n, 0);
        self.from.read_exact(&mut self.msg[start..])?;
        Ok(&self.msg[start..])
    }

    fn u8(&mut self) -> Result<u8, Stop> {
        Ok(self.take(1)?[0])
    }

    /// Forwards the current message.
    fn send(&mut self) -> Result<(), Stop> {
        self.to.write_all(&self.msg)?;
        self.counters
            .to_server_bytes
            .fetch_add(self.msg.len() as u64, Ordering::Relaxed);
        self.msg.clear();
        Ok(())
    }

    fn run(&mut self) -> Result<(), Stop> {
        let version = self.take(12)?.to_vec();
        self.send()?;
        if minor_version(&version)? >= 7 {
            match self.u8()? {
                1 => {}
                2 => {
                    // VNC authentication: the 16-byte response follows.
                    self.take(16)?;
                }
                other => return unknown(format!("security type {other}")),
            }
            self.send()?;
        }
        self.take(1)?; // ClientInit
        self.send()?;
        loop {
            let kind = self.message()?;
            self.counters.note_client_message(kind);
            self.send()?;
        }
    }

    /// Reads one message and returns its name.
    fn message(&mut self) -> Result<&'static str, Stop> {
        Ok(match self.u8()? {
            0 => {
                let pf = self.take(19)?;
                // pad(3), then bpp, depth, big-endian, true-colour, r/g/b max (u16).
                let (bpp, depth, true_colour) = (pf[3], pf[4], pf[6] != 0);
                let full_8bit = pf[7..13] == [0, 255, 0, 255, 0, 255];
                store_pixel_format(&self.counters, bpp, depth, true_colour && full_8bit, true);
                "SetPixelFormat"
            }
            2 => {
                let head = self.take(3)?;
                let n = usize::from(u16::from_be_bytes([head[1], head[2]]));
                let ids: Vec<i32> = self
                    .take(4 * n)?
                    .chunks_exact(4)
                    .map(|c| i32::from_be_bytes([c[0], c[1], c[2], c[3]]))
                    .collect();
                self.counters.notes().encodings = ids;
                "SetEncodings"
            }
            3 => {
                let incremental = self.take(9)?[0] != 0;
                self.counters.requests.fetch_add(1, Ordering::Relaxed);
                if incremental {
                    "UpdateRequest(incremental)"
                } else {
                    "UpdateRequest(full)"
                }
            }
            4 => {
                self.take(7)?;
                "KeyEvent"
            }
            5 => {
                self.take(5)?;
                "PointerEvent"
            }
            6 => {
                let head = self.take(7)?;
                let len = i32::from_be_bytes([head[3], head[4], head[5], head[6]]);
                // Negative: the extended clipboard's length.
                self.take(len.unsigned_abs() as usize)?;
                "ClientCutText"
            }
            150 => {
                let enable = self.take(9)?[0] != 0;
                if enable {
                    "EnableContinuousUpdates(on)"
                } else {
                    "EnableContinuousUpdates(off)"
                }
            }
            248 => {
                let len = self.take(8)?[7];
                self.take(usize::from(len))?;
                "Fence"
            }
            251 => {
                let screens = self.take(7)?[5];
                self.take(16 * usize::from(screens))?;
                "SetDesktopSize"
            }
            255 => match self.u8()? {
                0 => {
                    self.take(10)?;
                    "QemuKeyEvent"
                }
                sub => return unknown(format!("client QEMU message {sub}")),
            },
            other => return unknown(format!("client message type {other}")),
        })
    }

    /// Notes why parsing stopped and, unless the stream ended, forwards the rest unparsed.
    fn fall_back(&mut self, why: Stop) {
        if let Stop::Unknown(why) = why {
            self.counters.note_unparsed(format!("to server: {why}"));
            if self.send().is_ok() {
                let _ = io::copy(&mut self.from, &mut self.to);
            }
        }
    }
}

/// Records a pixel format; ServerInit's (`from_client` false) only if the client set none.
fn store_pixel_format(counters: &Counters, bpp: u8, depth: u8, full_8bit: bool, from_client: bool) {
    let bytes = u32::from(bpp / 8).max(1);
    let tpixel = if bpp == 32 && depth == 24 && full_8bit {
        3
    } else {
        bytes
    };
    let value = bytes << 8 | tpixel;
    if from_client {
        counters.pixel_format.store(value, Ordering::Release);
    } else {
        let _ =
            counters
                .pixel_format
                .compare_exchange(0, value, Ordering::AcqRel, Ordering::Acquire);
    }
}

/// Server→client bytes: every chunk read is forwarded at once, then handed to the walker
/// (and written to the capture file, if one is asked for).
struct Tee {
    from: TcpStream,
    to: TcpStream,
    counters: Arc<Counters>,
    capture: Option<std::fs::File>,
}

impl Read for Tee {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.from.read(buf)?;
        self.to.write_all(&buf[..n])?;
        if let Some(file) = &mut self.capture {
            file.write_all(&buf[..n])?;
        }
        self.counters
            .to_client_bytes
            .fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Walks the server's messages (already forwarded) to count updates and rectangles.
struct ServerMessages {
    r: BufReader<Tee>,
    counters: Arc<Counters>,
}

impl ServerMessages {
    fn array<const N: usize>(&mut self) -> Result<[u8; N], Stop> {
        let mut a = [0u8; N];
        self.r.read_exact(&mut a)?;
        Ok(a)
    }

    fn u8(&mut self) -> Result<u8, Stop> {
        Ok(self.array::<1>()?[0])
    }

    fn u32(&mut self) -> Result<u32, Stop> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    fn skip(&mut self, n: u64) -> Result<(), Stop> {
        let copied = io::copy(&mut (&mut self.r).take(n), &mut io::sink())?;
        if copied < n {
            return Err(Stop::Ended);
        }
        Ok(())
    }

    /// Tight's compact length: 1 to 3 bytes, 7 bits each, low first.
    fn compact_len(&mut self) -> Result<u64, Stop> {
        let mut len = 0u64;
        for shift in [0, 7, 14] {
            let b = self.u8()?;
            let bits = if shift == 14 { b } else { b & 0x7f };
            len |= u64::from(bits) << shift;
            if b & 0x80 == 0 || shift == 14 {
                break;
            }
        }
        Ok(len)
    }

    fn run(&mut self) -> Result<(), Stop> {
        self.handshake()?;
        loop {
            match self.u8()? {
                0 => self.update()?,
                1 => {
                    let [_, _, _, hi, lo] = self.array()?;
                    self.skip(6 * u64::from(u16::from_be_bytes([hi, lo])))?;
                }
                2 => {}
                3 => {
                    let [_, _, _, a, b, c, d] = self.array()?;
                    self.skip(u64::from(i32::from_be_bytes([a, b, c, d]).unsigned_abs()))?;
                }
                150 => self.counters.note_rect("EndOfContinuousUpdates"),
                248 => {
                    let [_, _, _, _, _, _, _, len] = self.array()?;
                    self.skip(u64::from(len))?;
                }
                other => return unknown(format!("server message type {other}")),
            }
        }
    }

    /// Version, security (None only), SecurityResult, ServerInit.
    fn handshake(&mut self) -> Result<(), Stop> {
        let version: [u8; 12] = self.array()?;
        let minor = minor_version(&version)?;
        if minor >= 7 {
            let n = self.u8()?;
            let mut types = vec![0u8; usize::from(n)];
            self.r.read_exact(&mut types)?;
            if types != [1] {
                return unknown(format!("security types {types:?}"));
            }
            if minor >= 8 && self.u32()? != 0 {
                return unknown("security failed");
            }
        } else if self.u32()? != 1 {
            return unknown("RFB 3.3 security other than None");
        }
        let [
            _,
            _,
            _,
            _,
            bpp,
            depth,
            _,
            true_colour,
            r1,
            r2,
            g1,
            g2,
            b1,
            b2,
            _,
            _,
            _,
            _,
            _,
            _,
        ] = self.array::<20>()?;
        let full_8bit = [r1, r2, g1, g2, b1, b2] == [0, 255, 0, 255, 0, 255];
        store_pixel_format(
            &self.counters,
            bpp,
            depth,
            true_colour != 0 && full_8bit,
            false,
        );
        let name_len = self.u32()?;
        self.skip(u64::from(name_len))
    }

    fn pixel_format(&self) -> (u64, u64) {
        let v = self.counters.pixel_format.load(Ordering::Acquire);
        (u64::from(v >> 8), u64::from(v & 0xff))
    }

    fn update(&mut self) -> Result<(), Stop> {
        let [_, hi, lo] = self.array()?;
        let count = u16::from_be_bytes([hi, lo]);
        let mut pixels = 0u64;
        for _ in 0..count {
            let [_, _, _, _, w1, w2, h1, h2, e1, e2, e3, e4] = self.array()?;
            let (w, h) = (
                u64::from(u16::from_be_bytes([w1, w2])),
                u64::from(u16::from_be_bytes([h1, h2])),
            );
            let encoding = i32::from_be_bytes([e1, e2, e3, e4]);
            if encoding == enc::LAST_RECT {
                break;
            }
            let kind = self.rect(encoding, w, h)?;
            self.counters.note_rect(kind);
            if encoding >= 0 {
                pixels += w * h;
            }
        }
        self.counters.updates.fetch_add(1, Ordering::Relaxed);
        self.counters
            .picture_pixels
            .fetch_add(pixels, Ordering::Relaxed);
        Ok(())
    }

    /// Skips one rectangle's payload; returns what kind it was.
    fn rect(&mut self, encoding: i32, w: u64, h: u64) -> Result<&'static str, Stop> {
        let (bpp, tpixel) = self.pixel_format();
        let mask = w.div_ceil(8) * h;
        match encoding {
            enc::RAW => self.skip(w * h * bpp)?,
            enc::COPY_RECT => self.skip(4)?,
            enc::RRE => {
                let n = u64::from(self.u32()?);
                self.skip(bpp + n * (bpp + 8))?;
            }
            enc::HEXTILE => self.hextile(w, h, bpp)?,
            enc::ZLIB | enc::ZRLE => {
                let len = self.u32()?;
                self.skip(u64::from(len))?;
            }
            enc::TIGHT => return self.tight(w, h, tpixel),
            enc::CURSOR => self.skip(w * h * bpp + mask)?,
            enc::X_CURSOR => {
                if w * h > 0 {
                    self.skip(6 + 2 * mask)?;
                }
            }
            enc::EXTENDED_DESKTOP_SIZE => {
                let [n, _, _, _] = self.array()?;
                self.skip(16 * u64::from(n))?;
            }
            enc::DESKTOP_SIZE | enc::POINTER_POS | enc::QEMU_EXTENDED_KEY => {}
            other => return unknown(format!("rectangle encoding {other}")),
        }
        Ok(match encoding_name(encoding) {
            "unknown" => "other",
            name => name,
        })
    }

    fn hextile(&mut self, w: u64, h: u64, bpp: u64) -> Result<(), Stop> {
        for ty in (0..h).step_by(16) {
            for tx in (0..w).step_by(16) {
                let (tw, th) = ((w - tx).min(16), (h - ty).min(16));
                let sub = self.u8()?;
                if sub & 1 != 0 {
                    self.skip(tw * th * bpp)?;
                    continue;
                }
                let colours = u64::from(sub & 2 != 0) + u64::from(sub & 4 != 0);
                self.skip(colours * bpp)?;
                if sub & 8 != 0 {
                    let n = u64::from(self.u8()?);
                    let each = if sub & 16 != 0 { bpp + 2 } else { 2 };
                    self.skip(n * each)?;
                }
            }
        }
        Ok(())
    }

    /// Tight: a control byte, then fill, JPEG or basic (optionally filtered) compression.
    fn tight(&mut self, w: u64, h: u64, tpixel: u64) -> Result<&'static str, Stop> {
        let control = self.u8()?;
        match control >> 4 {
            8 => {
                self.skip(tpixel)?;
                Ok("Tight fill")
            }
            9 => {
                let len = self.compact_len()?;
                self.skip(len)?;
                Ok("Tight JPEG")
            }
            basic if basic & 8 == 0 => {
                let filter = if control & 0x40 != 0 { self.u8()? } else { 0 };
                let (size, kind) = match filter {
                    0 => (tpixel * w * h, "Tight basic"),
                    2 => (tpixel * w * h, "Tight gradient"),
                    1 => {
                        let colours = u64::from(self.u8()?) + 1;
                        self.skip(colours * tpixel)?;
                        let size = if colours == 2 {
                            w.div_ceil(8) * h
                        } else {
                            w * h
                        };
                        (size, "Tight palette")
                    }
                    other => return unknown(format!("Tight filter {other}")),
                };
                // Under 12 bytes the data is sent as is, else zlib data with its length.
                let len = if size < 12 { size } else { self.compact_len()? };
                self.skip(len)?;
                Ok(kind)
            }
            _ => unknown(format!("Tight control {control:#04x}")),
        }
    }

    /// Notes why walking stopped and, unless the stream ended, keeps forwarding.
    fn fall_back(&mut self, why: Stop) {
        if let Stop::Unknown(why) = why {
            self.counters.note_unparsed(format!("to client: {why}"));
            let _ = io::copy(&mut self.r, &mut io::sink());
        }
    }
}
