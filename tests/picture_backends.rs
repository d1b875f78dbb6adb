//! The picture's fast paths on a real X server (Xvfb), each on its own. The egui texture,
//! the default backend, is what the UI tests (`ui_*.rs`) draw with.
//!
//! - The X11 backend's presenter puts a picture into a child window of a window made here,
//!   exactly as the one downscale makes it, then only what changed, and hides and removes
//!   the window when asked.
//! - `lookout view` with the GL backend (`LOOKOUT_PRESENT=gl`), watching a one-picture RFB
//!   server of the test's own, shows the picture's pixels exactly: at 1:1 as they are,
//!   fitted as the box filter averages them (so the picture went through our GL texture,
//!   not an egui one, which the GPU would scale bilinearly), with the remote cursor drawn
//!   on top at the pointer, and no X11 child window.
//! - The same window with the default backend (X11) shows the same pixels from a child
//!   window over the picture's place.
//!
//! Without Xvfb the tests print a skip line, except under `CI`, where they fail.

#[allow(dead_code)]
#[path = "peers/picture.rs"]
mod picture;
#[allow(dead_code)]
#[path = "peers/process.rs"]
mod process;
#[allow(dead_code)]
#[path = "peers/x11.rs"]
mod x11;

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use lookout::core::event::{Waker, noop_waker};
use lookout::core::frame::{FrameSlot, Framebuffer, Rect};
use lookout::ui::picture::resample::{Resampler, Scratch};
use lookout::ui::picture::x11::{Placement, Presenter, Transfer};
use picture::Rgb;
use process::Proc;
use x11::XServer;
use x11rb::connection::Connection as _;
use x11rb::protocol::xproto::{
    ConnectionExt as _, CreateWindowAux, ImageFormat, MapState, Window, WindowClass,
};
use x11rb::rust_connection::RustConnection;

/// Starts Xvfb at `size` on a free display, or `None` (after saying why) when it cannot
/// outside CI.
fn xvfb(name: &str, size: [u32; 2], dir: &Path) -> Result<Option<XServer>> {
    let mut cmd = Command::new("Xvfb");
    cmd.args(["-displayfd", "1", "-screen", "0"])
        .arg(format!("{}x{}x24", size[0], size[1]))
        .args(["-nolisten", "tcp", "-noreset"]);
    match XServer::start(name, &mut cmd, dir) {
        Ok(x) => Ok(Some(x)),
        Err(e) if std::env::var_os("CI").is_none() => {
            eprintln!("skipping: no Xvfb: {e:#}");
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// A picture with detail in every channel, so a wrong channel order, orientation, offset
/// or filter shows; blue is 200 throughout, which averaging keeps, so the picture can be
/// found on screen.
fn test_picture(w: u32, h: u32) -> Framebuffer {
    let mut pixels = Vec::with_capacity((w * h * 4) as usize);
    for y in 0..h {
        for x in 0..w {
            pixels.extend_from_slice(&[(x * 7 + y) as u8, (x ^ y) as u8, PICTURE_BLUE, 255]);
        }
    }
    Framebuffer::from_rgba(w, h, pixels).unwrap_or_else(|| panic!("{w}x{h} picture"))
}

const PICTURE_BLUE: u8 = 200;

/// The X11 presenter on a real X server: it puts the fitted picture into a child window of
/// the viewer's window at the place asked, exactly the box-filtered picture; then only
/// what changed when a new picture is published; on `place(None)` it hides the window and
/// pictures wake the UI again; dropped, it removes the window.
#[test]
fn x11_presenter_draws_the_picture_into_a_child_window() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let Some(x) = xvfb("Xvfb-present", [640, 480], dir.path())? else {
        return Ok(());
    };
    let display = x.name();
    let (conn, screen_num) = x11rb::connect(Some(&display))?;
    let screen = &conn.setup().roots[screen_num];
    let parent = conn.generate_id()?;
    conn.create_window(
        x11rb::COPY_DEPTH_FROM_PARENT,
        parent,
        screen.root,
        0,
        0,
        600,
        400,
        0,
        WindowClass::INPUT_OUTPUT,
        x11rb::COPY_FROM_PARENT,
        &CreateWindowAux::new().background_pixel(screen.black_pixel),
    )?;
    conn.map_window(parent)?;
    conn.flush()?;

    // Drawn from memory shared with the X server (Xvfb has MIT-SHM 1.2), then over the
    // socket as for a remote X server: the same pixels either way.
    for transfer in [Transfer::Auto, Transfer::Socket] {
        present_in_child_window(&conn, &display, parent, transfer)?;
    }
    Ok(())
}

/// One run of [`x11_presenter_draws_the_picture_into_a_child_window`].
fn present_in_child_window(
    conn: &RustConnection,
    display: &str,
    parent: Window,
    transfer: Transfer,
) -> Result<()> {
    // A 400×200 picture, shown at half size at (30, 40).
    let (w, h) = (400u32, 200u32);
    let mut fb = test_picture(w, h);
    let slot = Arc::new(FrameSlot::new());
    slot.publish(&fb, &[fb.full_rect()]);
    let woken = Arc::new(AtomicU32::new(0));
    let counter = woken.clone();
    let ui_waker: Waker = Arc::new(move || {
        counter.fetch_add(1, Ordering::SeqCst);
    });
    let mut presenter = Presenter::new(Some(display), parent, slot.clone(), ui_waker, transfer)?;
    let place = Placement {
        x: 30,
        y: 40,
        width: 200,
        height: 100,
    };
    presenter.place(Some(place));
    assert!(presenter.is_presenting());

    let resampler = Resampler::new([w, h], [200, 100]).context("resampler")?;
    let expected = |fb: &Framebuffer| {
        let mut out = Vec::new();
        let all = Rect::new(0, 0, 200, 100);
        resampler.resample_bgra(fb, all, &mut Scratch::default(), &mut out);
        out
    };
    let wait_for = |size: [u32; 2], want: &[u8], what: &str| {
        wait_for_bgra(conn, parent, [30, 40], size, want)
            .with_context(|| format!("{transfer:?}: the child window never showed {what}"))
    };
    wait_for([200, 100], &expected(&fb), "the picture")?;
    ensure!(
        presenter.uses_shared_memory() == (transfer == Transfer::Auto),
        "{transfer:?}: shared memory in use: {}",
        presenter.uses_shared_memory()
    );

    // A change: only it is resampled and sent, and the window shows the new picture.
    fb.fill_rect(Rect::new(100, 50, 40, 40), [250, 10, 20, 255])?;
    slot.publish(&fb, &[Rect::new(100, 50, 40, 40)]);
    let before = woken.load(Ordering::SeqCst);
    slot.notify(&noop_waker());
    wait_for([200, 100], &expected(&fb), "the changed picture")?;
    assert!(
        woken.load(Ordering::SeqCst) <= before + 1,
        "a presented picture woke the UI more than once"
    );

    // At the picture's own size (1:1): its pixels exactly, in X's byte order.
    presenter.place(Some(Placement {
        width: w,
        height: h,
        ..place
    }));
    let want: Vec<u8> = fb
        .pixels()
        .chunks_exact(4)
        .flat_map(|p| [p[2], p[1], p[0], 0])
        .collect();
    wait_for([w, h], &want, "the picture 1:1")?;

    // Hidden: the child is unmapped and pictures wake the UI again.
    presenter.place(None);
    assert!(!presenter.is_presenting());
    let before = woken.load(Ordering::SeqCst);
    slot.publish(&fb, &[Rect::new(0, 0, 4, 4)]);
    slot.notify(&noop_waker());
    assert_eq!(woken.load(Ordering::SeqCst), before + 1);
    let children = || -> Result<Vec<u32>> { Ok(conn.query_tree(parent)?.reply()?.children) };
    within(
        Duration::from_secs(10),
        "the child window stayed mapped",
        || {
            let kids = children()?;
            ensure!(kids.len() == 1, "expected one child window, found {kids:?}");
            let state = conn.get_window_attributes(kids[0])?.reply()?.map_state;
            Ok(state == MapState::UNMAPPED)
        },
    )?;

    drop(presenter);
    within(
        Duration::from_secs(10),
        "the child window outlived the presenter",
        || Ok(children()?.is_empty()),
    )
}

/// Polls `done` every 20 ms until it holds, failing with `what` after `limit`.
fn within(limit: Duration, what: &str, mut done: impl FnMut() -> Result<bool>) -> Result<()> {
    let deadline = Instant::now() + limit;
    while !done()? {
        ensure!(Instant::now() < deadline, "{what} (for {limit:?})");
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}

/// Waits until the area of `window` at `at`, `size` big, shows the colours of `want`
/// (BGRA or BGRX rows; X's fourth byte is padding).
fn wait_for_bgra(
    conn: &RustConnection,
    window: Window,
    at: [i16; 2],
    size: [u32; 2],
    want: &[u8],
) -> Result<()> {
    let same_colours = |a: &[u8], b: &[u8]| {
        a.len() == b.len()
            && a.chunks_exact(4)
                .zip(b.chunks_exact(4))
                .all(|(p, q)| p[..3] == q[..3])
    };
    within(Duration::from_secs(10), "not the wanted picture", || {
        let [w, h] = size.map(|v| v as u16);
        let image = conn
            .get_image(ImageFormat::Z_PIXMAP, window, at[0], at[1], w, h, !0)?
            .reply()?;
        Ok(same_colours(&image.data, want))
    })
}

/// The remote cursor the test server sends: a solid magenta square, hotspot (2, 3).
const CURSOR_SIDE: u32 = 10;
const CURSOR_HOTSPOT: [u32; 2] = [2, 3];
const CURSOR_RGB: [u8; 3] = [255, 0, 255];
/// Where the test server says the remote pointer is.
const POINTER: [u32; 2] = [100, 80];

/// How a `lookout view` window is run, and what it should show.
#[derive(Clone, Copy, Debug)]
struct Case {
    /// `LOOKOUT_PRESENT`.
    present: &'static str,
    /// The remote picture's size.
    picture: [u32; 2],
    one_to_one: bool,
    /// An X11 child window shows the picture.
    x11: bool,
}

/// The GL backend, forced with `LOOKOUT_PRESENT=gl`, draws the picture exactly: at 1:1 and
/// fitted (box-filtered on the CPU, so through our GL texture), cursor on top, with no
/// child window.
#[test]
fn the_gl_backend_draws_the_picture_exactly() -> Result<()> {
    for one_to_one in [true, false] {
        let case = Case {
            present: "gl",
            picture: if one_to_one { [640, 400] } else { [1920, 1080] },
            one_to_one,
            x11: false,
        };
        view_case(case).with_context(|| format!("{case:?}"))?;
    }
    Ok(())
}

/// The default backend on X11 shows a fitted picture from a child window over its place,
/// with the same pixels.
#[test]
fn the_x11_backend_shows_the_same_pixels_from_a_child_window() -> Result<()> {
    let case = Case {
        present: "",
        picture: [1920, 1080],
        one_to_one: false,
        x11: true,
    };
    view_case(case).with_context(|| format!("{case:?}"))
}

/// One `lookout view` window, checked as `case` says.
fn view_case(case: Case) -> Result<()> {
    const SCREEN: [u32; 2] = [1280, 800];
    let dir = tempfile::tempdir()?;
    let Some(x) = xvfb("Xvfb-view", SCREEN, dir.path())? else {
        return Ok(());
    };
    let fb = test_picture(case.picture[0], case.picture[1]);
    let port = serve_still(fb.clone())?;
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home)?;
    let scale: &[&str] = if case.one_to_one {
        &["--scale", "1:1"]
    } else {
        &[]
    };
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lookout"));
    cmd.args(["view", &format!("vnc://127.0.0.1:{port}")])
        .args(scale)
        .env("DISPLAY", x.name())
        .env("HOME", &home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("LOOKOUT_PRESENT", case.present)
        .env_remove("WAYLAND_DISPLAY")
        .env_remove("LOOKOUT_PROFILE");
    let mut viewer = Proc::spawn("lookout-view", &mut cmd, dir.path(), false)?;

    let (conn, screen_num) = x11rb::connect(Some(&x.name()))?;
    let root = conn.setup().roots[screen_num].root;
    let deadline = Instant::now() + Duration::from_secs(40);
    let found = loop {
        viewer.check_alive()?;
        let shot = screenshot(&conn, root, SCREEN)?;
        let shown = find_picture(&shot)
            .context("no picture on screen")
            .and_then(|found| shows(&shot, &fb, found, case.one_to_one).map(|()| found));
        match shown {
            Ok(found) => break found,
            Err(e) if Instant::now() >= deadline => {
                let name = format!("picture_backends-{}-{}.png", case.x11, case.one_to_one);
                let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
                shot.write_png(&path)?;
                bail!("the window never showed the picture: {e:#} (screen saved as {path:?})");
            }
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    };
    let mapped_children = mapped_children(&conn, root)?;
    if case.x11 {
        ensure!(
            mapped_children.iter().any(|&(_, area)| area == found),
            "no child window over the picture at {found:?}: {mapped_children:?}"
        );
    } else {
        ensure!(
            mapped_children.is_empty(),
            "child windows {mapped_children:?}"
        );
    }
    Ok(())
}

/// Where the picture is on `shot`: the box, `[x, y, w, h]`, of the rows with a run of
/// the picture's blue.
fn find_picture(shot: &Rgb) -> Option<[u32; 4]> {
    let width = shot.width as usize;
    let rows: Vec<(u32, u32, u32)> = shot
        .data
        .chunks_exact(width * 3)
        .enumerate()
        .filter_map(|(y, row)| {
            let blue: Vec<u32> = (0..width as u32)
                .filter(|&x| row[x as usize * 3 + 2] == PICTURE_BLUE)
                .collect();
            (blue.len() >= 64).then(|| (y as u32, blue[0], blue[blue.len() - 1]))
        })
        .collect();
    let (y0, y1) = (rows.first()?.0, rows.last()?.0);
    let x0 = rows.iter().map(|r| r.1).min()?;
    let x1 = rows.iter().map(|r| r.2).max()?;
    Some([x0, y0, x1 + 1 - x0, y1 + 1 - y0])
}

/// Checks that the box `found` on `shot` shows `fb`: its own pixels at 1:1, else its box
/// filter to the box's size; everything but the cursor exactly, and the cursor at the
/// pointer, solid.
fn shows(shot: &Rgb, fb: &Framebuffer, found: [u32; 4], one_to_one: bool) -> Result<()> {
    let [x0, y0, w, h] = found;
    let source = [fb.width(), fb.height()];
    if one_to_one {
        ensure!([w, h] == source, "{w}x{h} shown, not {source:?}");
    }
    let resampler = Resampler::new(source, [w, h]).context("shown larger than the picture")?;
    let mut bgra = Vec::new();
    let all = Rect::new(0, 0, w, h);
    ensure!(resampler.resample_bgra(fb, all, &mut Scratch::default(), &mut bgra));
    // The cursor's square in shown pixels, with a pixel of margin for filtering.
    let scale = [
        f64::from(w) / f64::from(source[0]),
        f64::from(h) / f64::from(source[1]),
    ];
    let edge = |i: usize, from: u32| (f64::from(from) * scale[i]).floor() as i64;
    let left = edge(0, POINTER[0] - CURSOR_HOTSPOT[0]) - 1;
    let top = edge(1, POINTER[1] - CURSOR_HOTSPOT[1]) - 1;
    let side = (f64::from(CURSOR_SIDE) * scale[0]).ceil() as i64 + 2;
    let in_cursor = |x: u32, y: u32| {
        let (x, y) = (i64::from(x), i64::from(y));
        (left..left + side).contains(&x) && (top..top + side).contains(&y)
    };
    let px = |x: u32, y: u32| {
        let i = ((y0 + y) as usize * shot.width as usize + (x0 + x) as usize) * 3;
        [shot.data[i], shot.data[i + 1], shot.data[i + 2]]
    };
    for y in 0..h {
        for x in (0..w).filter(|&x| !in_cursor(x, y)) {
            let i = (y * w + x) as usize * 4;
            let want = [bgra[i + 2], bgra[i + 1], bgra[i]];
            ensure!(
                px(x, y) == want,
                "({x}, {y}) is {:?}, not {want:?}",
                px(x, y)
            );
        }
    }
    // The cursor's middle is the cursor's colour, over the picture.
    let middle = |i: usize| {
        let from = f64::from(POINTER[i] - CURSOR_HOTSPOT[i]) + f64::from(CURSOR_SIDE) / 2.0;
        (from * scale[i]) as u32
    };
    let got = px(middle(0), middle(1));
    let close = got.iter().zip(CURSOR_RGB).all(|(&g, c)| g.abs_diff(c) <= 2);
    ensure!(close, "the cursor's middle is {got:?}");
    Ok(())
}

/// The screen, as RGB.
fn screenshot(conn: &RustConnection, root: Window, size: [u32; 2]) -> Result<Rgb> {
    let [w, h] = size.map(|v| v as u16);
    let image = conn
        .get_image(ImageFormat::Z_PIXMAP, root, 0, 0, w, h, !0)?
        .reply()?;
    let rgb = image
        .data
        .chunks_exact(4)
        .flat_map(|p| [p[2], p[1], p[0]])
        .collect();
    Rgb::new(size[0], size[1], rgb)
}

/// The mapped windows inside the top-level windows, each with its box `[x, y, w, h]` on
/// the screen.
fn mapped_children(conn: &RustConnection, root: Window) -> Result<Vec<(Window, [u32; 4])>> {
    let mut found = Vec::new();
    for top in conn.query_tree(root)?.reply()?.children {
        for child in conn.query_tree(top)?.reply()?.children {
            if conn.get_window_attributes(child)?.reply()?.map_state != MapState::VIEWABLE {
                continue;
            }
            let g = conn.get_geometry(child)?.reply()?;
            let at = conn.translate_coordinates(child, root, 0, 0)?.reply()?;
            let area = [at.dst_x, at.dst_y].map(|v| v as u32);
            found.push((
                child,
                [area[0], area[1], u32::from(g.width), u32::from(g.height)],
            ));
        }
    }
    Ok(found)
}

/// Serves `fb` over RFB on a free port of 127.0.0.1 (see [`serve_one`]); returns the port.
fn serve_still(fb: Framebuffer) -> Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    let port = listener.local_addr()?.port();
    let fb = Arc::new(fb);
    std::thread::Builder::new()
        .name("still-rfb".into())
        .spawn(move || {
            for stream in listener.incoming().flatten() {
                let fb = fb.clone();
                // Ends when the viewer leaves.
                let _ = std::thread::Builder::new()
                    .name("still-rfb-client".into())
                    .spawn(move || serve_one(stream, &fb));
            }
        })?;
    Ok(port)
}

/// One RFB 3.8 connection with security None, showing one still picture: a non-incremental
/// update request gets the whole picture (Raw), the cursor (Cursor pseudo-encoding) and
/// the pointer (PointerPos); incremental ones get nothing, as nothing changes.
fn serve_one(mut s: TcpStream, fb: &Framebuffer) -> Result<()> {
    let mut version = [0; 12];
    s.write_all(b"RFB 003.008\n")?;
    s.read_exact(&mut version)?;
    s.write_all(&[1, 1])?; // One security type: None.
    let mut byte = [0; 1];
    s.read_exact(&mut byte)?;
    s.write_all(&0u32.to_be_bytes())?;
    s.read_exact(&mut byte)?; // ClientInit.
    let mut init = Vec::new();
    init.extend((fb.width() as u16).to_be_bytes());
    init.extend((fb.height() as u16).to_be_bytes());
    // 32 bits a pixel, depth 24, little-endian, true colour, 255 a channel, red lowest.
    init.extend([32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 0, 8, 16, 0, 0, 0]);
    init.extend(5u32.to_be_bytes());
    init.extend(b"still");
    s.write_all(&init)?;
    loop {
        s.read_exact(&mut byte)?;
        match byte[0] {
            0 => {
                let mut format = [0; 19];
                s.read_exact(&mut format)?;
                // The viewer's own format must be ours: RGBX, little-endian.
                ensure!(format[3..7] == [32, 24, 0, 1] && format[13..16] == [0, 8, 16]);
            }
            2 => {
                let mut head = [0; 3];
                s.read_exact(&mut head)?;
                let count = u16::from_be_bytes([head[1], head[2]]) as usize;
                s.read_exact(&mut vec![0; count * 4])?;
            }
            3 => {
                let mut request = [0; 9];
                s.read_exact(&mut request)?;
                if request[0] == 0 {
                    s.write_all(&whole_update(fb))?;
                }
            }
            4 | 5 => s.read_exact(&mut vec![0; if byte[0] == 4 { 7 } else { 5 }])?,
            other => bail!("unexpected client message {other}"),
        }
    }
}

/// A FramebufferUpdate with the whole of `fb`, the cursor and the pointer.
fn whole_update(fb: &Framebuffer) -> Vec<u8> {
    let rect = |out: &mut Vec<u8>, x: u32, y: u32, w: u32, h: u32, encoding: i32| {
        for v in [x, y, w, h] {
            out.extend((v as u16).to_be_bytes());
        }
        out.extend(encoding.to_be_bytes());
    };
    let mut m = vec![0, 0];
    m.extend(3u16.to_be_bytes());
    rect(&mut m, 0, 0, fb.width(), fb.height(), 0);
    m.extend(
        fb.pixels()
            .chunks_exact(4)
            .flat_map(|p| [p[0], p[1], p[2], 0]),
    );
    let [hx, hy] = CURSOR_HOTSPOT;
    rect(&mut m, hx, hy, CURSOR_SIDE, CURSOR_SIDE, -239);
    let [r, g, b] = CURSOR_RGB;
    for _ in 0..CURSOR_SIDE * CURSOR_SIDE {
        m.extend([r, g, b, 0]);
    }
    let mask_row = CURSOR_SIDE.div_ceil(8) as usize;
    m.extend(vec![0xff; mask_row * CURSOR_SIDE as usize]);
    rect(&mut m, POINTER[0], POINTER[1], 0, 0, -232);
    m
}
