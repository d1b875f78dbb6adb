//! The X side of the X11 backend: the child window, the memory shared with the X server,
//! and the `x11-events` thread that listens to the connection.
//!
//! [`XWindow`] is a child of the viewer's window on a connection of its own (x11rb's
//! pure-Rust one). It takes the canvas's rectangles ([`Sink`]) with `ShmPutImage` from a
//! segment the X server made for us ([`ShmImage`], MIT-SHM 1.2) where the server offers
//! that, as a local one does, else with `PutImage` over the socket in bands under the
//! request limit. [`watch_events`] hands what X reports (exposures, finished shared-memory
//! puts, errors, the window's end) to the presenter thread ([`super::present`]).

use std::sync::Arc;

use x11rb::connection::{Connection as _, RequestConnection as _};
use x11rb::protocol::Event;
use x11rb::protocol::shm::{self, ConnectionExt as _};
use x11rb::protocol::xproto::{
    ConfigureWindowAux, ConnectionExt as _, CreateGCAux, CreateWindowAux, EventMask, ImageFormat,
    ImageOrder, VisualClass, WindowClass,
};
use x11rb::rust_connection::RustConnection;

use super::Placement;
use super::canvas::{Pixels, Sink};
use super::present::{PresentError, Shared, Transfer, x_err};
use crate::core::frame::Rect;

/// Exposed rectangles kept before the next redraw; past this the whole window is redrawn.
const MAX_EXPOSED: usize = 64;

/// Our child window on the X server, and what it takes to draw into it.
pub(super) struct XWindow {
    /// Shared with the `x11-events` thread, which waits for its events.
    pub(super) conn: Arc<RustConnection>,
    pub(super) window: u32,
    gc: u32,
    depth: u8,
    mapped: bool,
    /// The largest request the server takes, in bytes.
    max_request: usize,
    /// The server offers shared memory we may use (MIT-SHM 1.2, with file descriptors).
    shm: bool,
    /// Batches of shared-memory puts sent; the server reports each done with an event.
    pub(super) shm_sent: u64,
    /// Rows being sent over the socket.
    staging: Vec<u8>,
}

impl XWindow {
    pub(super) fn new(
        display: Option<&str>,
        parent: u32,
        transfer: Transfer,
    ) -> Result<Self, PresentError> {
        let (conn, _screen) =
            x11rb::connect(display).map_err(|e| PresentError::Connect(e.to_string()))?;
        let attrs = conn
            .get_window_attributes(parent)
            .map_err(x_err)?
            .reply()
            .map_err(x_err)?;
        let geometry = conn
            .get_geometry(parent)
            .map_err(x_err)?
            .reply()
            .map_err(x_err)?;
        let setup = conn.setup();
        let bpp = setup
            .pixmap_formats
            .iter()
            .find(|f| f.depth == geometry.depth)
            .map(|f| f.bits_per_pixel);
        let visual = setup
            .roots
            .iter()
            .flat_map(|s| &s.allowed_depths)
            .flat_map(|d| &d.visuals)
            .find(|v| v.visual_id == attrs.visual);
        let true_colour = visual.is_some_and(|v| {
            v.class == VisualClass::TRUE_COLOR
                && (v.red_mask, v.green_mask, v.blue_mask) == (0xff_0000, 0xff00, 0xff)
        });
        let depth_ok = matches!(geometry.depth, 24 | 32);
        if !true_colour
            || !depth_ok
            || bpp != Some(32)
            || setup.image_byte_order != ImageOrder::LSB_FIRST
        {
            return Err(PresentError::Visual);
        }
        let window = conn.generate_id().map_err(x_err)?;
        let gc = conn.generate_id().map_err(x_err)?;
        // No background: X leaves the window's pixels alone until we draw them.
        let aux = CreateWindowAux::new()
            .background_pixmap(x11rb::NONE)
            .event_mask(EventMask::EXPOSURE | EventMask::STRUCTURE_NOTIFY);
        conn.create_window(
            x11rb::COPY_DEPTH_FROM_PARENT,
            window,
            parent,
            0,
            0,
            1,
            1,
            0,
            WindowClass::INPUT_OUTPUT,
            x11rb::COPY_FROM_PARENT,
            &aux,
        )
        .map_err(x_err)?;
        conn.create_gc(gc, window, &CreateGCAux::new().graphics_exposures(0))
            .map_err(x_err)?;
        let max_request = conn.maximum_request_bytes();
        let shm = transfer == Transfer::Auto && shm_version(&conn).is_some_and(|v| v >= (1, 2));
        conn.flush().map_err(x_err)?;
        Ok(Self {
            conn: Arc::new(conn),
            window,
            gc,
            depth: geometry.depth,
            mapped: false,
            max_request,
            shm,
            shm_sent: 0,
            staging: Vec::new(),
        })
    }

    pub(super) fn place(&mut self, p: Placement) -> Result<(), PresentError> {
        let aux = ConfigureWindowAux::new()
            .x(p.x)
            .y(p.y)
            .width(p.width.max(1))
            .height(p.height.max(1));
        self.conn
            .configure_window(self.window, &aux)
            .map_err(x_err)?;
        if !self.mapped {
            self.conn.map_window(self.window).map_err(x_err)?;
            self.mapped = true;
        }
        self.conn.flush().map_err(x_err)
    }

    /// Unmaps the window, and returns once the X server has done so (a round trip).
    pub(super) fn hide(&mut self) -> Result<(), PresentError> {
        if self.mapped {
            self.conn.unmap_window(self.window).map_err(x_err)?;
            self.mapped = false;
        }
        self.conn
            .get_input_focus()
            .map_err(x_err)?
            .reply()
            .map_err(x_err)?;
        Ok(())
    }
}

/// The server's MIT-SHM version, if it has the extension.
fn shm_version(conn: &RustConnection) -> Option<(u16, u16)> {
    conn.extension_information(shm::X11_EXTENSION_NAME)
        .ok()
        .flatten()?;
    let v = conn.shm_query_version().ok()?.reply().ok()?;
    Some((v.major_version, v.minor_version))
}

/// A block of memory the X server draws from (`ShmPutImage`): a segment it made for us
/// (`ShmCreateSegment`), mapped into our address space too.
pub(super) struct ShmImage {
    conn: Arc<RustConnection>,
    seg: shm::Seg,
    map: memmap2::MmapMut,
    len: usize,
}

impl ShmImage {
    fn new(conn: &Arc<RustConnection>, len: usize) -> Result<Self, PresentError> {
        let size = u32::try_from(len)
            .map_err(|_| PresentError::X(format!("{len} bytes is too large a segment")))?;
        let seg = conn.generate_id().map_err(x_err)?;
        let reply = conn
            .shm_create_segment(seg, size, true)
            .map_err(x_err)?
            .reply()
            .map_err(x_err)?;
        let file = std::fs::File::from(reply.shm_fd);
        // SAFETY: the file is a fresh shared-memory object the X server made for this
        // segment; it maps it read-only (we asked for that) and nobody resizes it, so the
        // mapping stays valid and only we write to it.
        #[allow(unsafe_code)]
        let map = unsafe { memmap2::MmapMut::map_mut(&file) };
        match map {
            Ok(map) if map.len() >= len => Ok(Self {
                conn: conn.clone(),
                seg,
                map,
                len,
            }),
            other => {
                let _ = conn.shm_detach(seg);
                Err(PresentError::X(match other {
                    Err(e) => format!("cannot map the shared segment: {e}"),
                    Ok(map) => format!("the shared segment has {} bytes, not {len}", map.len()),
                }))
            }
        }
    }
    /// The canvas's bytes in the segment.
    pub(super) fn bytes(&self) -> &[u8] {
        &self.map[..self.len]
    }

    pub(super) fn bytes_mut(&mut self) -> &mut [u8] {
        &mut self.map[..self.len]
    }
}

impl Drop for ShmImage {
    fn drop(&mut self) {
        // The server keeps its own mapping until it has carried out the requests before.
        let _ = self.conn.shm_detach(self.seg);
        let _ = self.conn.flush();
    }
}

/// The `x11-events` thread: waits on the X connection (no polling) and hands exposures
/// and failures to the presenter thread. It ends when the window is destroyed, on an X
/// error or when the connection closes; after an error nobody reads the connection, so
/// the presenter thread stops too and drops it.
pub(super) fn watch_events(conn: &RustConnection, window: u32, shared: &Shared) {
    loop {
        let event = conn.wait_for_event();
        let mut w = shared.wanted();
        let end = match event {
            Ok(Event::Expose(e)) => {
                let r = Rect::new(
                    u32::from(e.x),
                    u32::from(e.y),
                    u32::from(e.width),
                    u32::from(e.height),
                );
                if w.exposed.len() < MAX_EXPOSED {
                    w.exposed.push(r);
                } else {
                    w.exposed_all = true;
                }
                None
            }
            Ok(Event::ShmCompletion(_)) => {
                w.shm_done += 1;
                None
            }
            Ok(Event::DestroyNotify(e)) if e.window == window => {
                Some("the window was destroyed".to_string())
            }
            Ok(Event::Error(e)) => Some(format!("{e:?}")),
            Ok(_) => continue,
            Err(e) => Some(e.to_string()),
        };
        let done = end.is_some();
        if let Some(why) = end.filter(|_| !w.stop) {
            w.x_error = Some(why);
        }
        drop(w);
        shared.wake.notify_one();
        if done {
            return;
        }
    }
}

impl Sink for XWindow {
    fn pixels(&mut self, len: usize) -> Pixels {
        if self.shm {
            match ShmImage::new(&self.conn, len) {
                Ok(image) => return Pixels::Shared(image),
                Err(e) => {
                    tracing::debug!("sending pictures over the X socket: {e}");
                    self.shm = false;
                }
            }
        }
        Pixels::Heap(vec![0; len])
    }

    fn put(&mut self, rects: &[Rect], image: &Pixels, size: [u32; 2]) -> Result<(), PresentError> {
        let [width, height] = size.map(|v| u16::try_from(v).unwrap_or(u16::MAX));
        match image {
            Pixels::Shared(shm) => {
                for (i, r) in rects.iter().enumerate() {
                    // The last put of the batch asks for a ShmCompletion event.
                    let last = i + 1 == rects.len();
                    self.conn
                        .shm_put_image(
                            self.window,
                            self.gc,
                            width,
                            height,
                            r.x as u16,
                            r.y as u16,
                            r.w as u16,
                            r.h as u16,
                            r.x as i16,
                            r.y as i16,
                            self.depth,
                            ImageFormat::Z_PIXMAP.into(),
                            last,
                            shm.seg,
                            0,
                        )
                        .map_err(x_err)?;
                }
                self.shm_sent += 1;
            }
            Pixels::Heap(pixels) => {
                let stride = width as usize * 4;
                for r in rects {
                    let row = r.w as usize * 4;
                    self.staging.clear();
                    for y in r.y..r.bottom() {
                        let start = y as usize * stride + r.x as usize * 4;
                        self.staging.extend_from_slice(&pixels[start..start + row]);
                    }
                    // PutImage's own header is 24 bytes; bands of rows stay under the
                    // request limit.
                    let rows = ((self.max_request.saturating_sub(64)) / row.max(1)).clamp(1, 4096);
                    for (i, band) in self.staging.chunks(rows * row).enumerate() {
                        let h = band.len() / row;
                        let y = r.y as usize + i * rows;
                        self.conn
                            .put_image(
                                ImageFormat::Z_PIXMAP,
                                self.window,
                                self.gc,
                                r.w as u16,
                                h as u16,
                                r.x as i16,
                                y as i16,
                                0,
                                self.depth,
                                band,
                            )
                            .map_err(x_err)?;
                    }
                }
            }
        }
        self.conn.flush().map_err(x_err)
    }
}

impl Drop for XWindow {
    fn drop(&mut self) {
        // The parent may be gone already (the window closed): errors do not matter here.
        let _ = self.conn.free_gc(self.gc);
        let _ = self.conn.destroy_window(self.window);
        let _ = self.conn.flush();
    }
}
