//! The remote picture drawn straight with OpenGL, for eframe's glow renderer.
//!
//! egui draws every image as a blended, vertex-coloured mesh, and eframe redraws the whole
//! window on every repaint. Under software GL (Mesa llvmpipe: servers, VMs, Xvfb) shading
//! the picture through egui took about 20 ns a pixel, most of the viewer's CPU time.
//! [`GlPicture`] keeps the picture in a texture of its own and draws it so that llvmpipe can
//! take its "linear" rasterizer (the SSE span code Mesa wrote for compositors) instead of
//! the general shader path. Mesa 22.3 takes it, tile by tile, only when (from
//! `lp_state_fs_analysis.c`, `lp_linear_sampler.c`, `lp_setup_rect.c`, `lp_state_derived.c`):
//!
//! - the fragment shader only samples a 2D texture at an interpolated coordinate;
//! - the texture is B8G8R8A8 (so it is created unsized `GL_RGBA` from `GL_BGRA` data;
//!   `GL_RGBA8` becomes R8G8B8A8 and is refused), min filter = mag filter, no mipmaps,
//!   clamped to the edge;
//! - blending, depth and stencil are off and the window has no depth buffer;
//! - the draw is recognised as a rectangle: a 4-vertex triangle fan with constant w.
//!
//! Tiles that egui also draws into (the cursor, overlays) still use the general path.
//!
//! A picture shown smaller than it is (a fitted 1080p task in a normal window) is kept in
//! the texture at its shown size, averaged down on the CPU one changed rectangle at a time
//! ([`super::resample`]), and drawn 1:1, which llvmpipe does as a copy: sampling the whole
//! picture on every repaint cost more than the resampling of what changed. Otherwise each
//! dirty rectangle is converted from the session's RGBA to BGRA in a reused buffer. Either
//! way it is one `glTexSubImage2D` per rectangle. The draw goes through an egui paint
//! callback, so egui's own GL state is restored around it.
//!
//! Uploads happen while the app builds its UI: eframe's glow integration makes the window's
//! context current (and clears it) before calling the app. Where no GL context exists (the
//! wgpu renderer, UI tests) the view falls back to an egui texture.

// OpenGL is a C API: every call through glow is `unsafe`. Each block below only passes
// objects this module created on the same context and slices whose bounds are checked.
#![allow(unsafe_code)]

use std::sync::Arc;

use eframe::egui_glow::{self, ShaderVersion};
use eframe::glow::{self, HasContext as _};

use super::resample::{PREFETCH_AHEAD, Resampler, Scratch, prefetch};
use crate::core::frame::{Framebuffer, Rect};

/// One picture texture and the program that draws it, on one GL context.
pub struct GlPicture {
    gl: Arc<glow::Context>,
    texture: glow::Texture,
    program: glow::Program,
    /// An empty vertex array: the quad's corners come from `gl_VertexID`.
    vertex_array: glow::VertexArray,
    /// The texture's size: the picture's, or the size it is shown at when resampled.
    size: [u32; 2],
    linear: bool,
    /// Set when the picture is shown smaller than it is: the texture then holds it at the
    /// shown size, averaged on the CPU ([`super::resample`]), and is drawn 1:1.
    resampler: Option<Resampler>,
    scratch: Scratch,
    /// BGRA rows of the rectangle being uploaded, reused between uploads.
    staging: Vec<u8>,
}

impl std::fmt::Debug for GlPicture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GlPicture")
            .field("size", &self.size)
            .field("linear", &self.linear)
            .finish_non_exhaustive()
    }
}

/// Why the direct GL path is not available; the view then uses an egui texture.
#[derive(Debug, thiserror::Error)]
pub enum GlPictureError {
    #[error("GLSL {0:?} is too old for the picture shader (needs GLSL 1.40 or ES 3.00)")]
    OldShaderVersion(ShaderVersion),
    #[error("creating a GL object failed: {0}")]
    Create(String),
    #[error("the picture shader did not build: {0}")]
    Shader(String),
}

const VERTEX_SHADER: &str = r"
out vec2 v_uv;
void main() {
    // Corners 0..3 of a triangle fan covering the viewport: (0,0) (1,0) (1,1) (0,1).
    vec2 corner = vec2(float(((gl_VertexID + 1) >> 1) & 1), float(gl_VertexID >> 1));
    // Texture row 0 is the top of the picture.
    v_uv = vec2(corner.x, 1.0 - corner.y);
    gl_Position = vec4(corner * 2.0 - 1.0, 0.0, 1.0);
}
";

const FRAGMENT_SHADER: &str = r"
uniform sampler2D u_picture;
in vec2 v_uv;
out vec4 f_color;
void main() {
    // The picture's alpha is always 255.
    f_color = texture(u_picture, v_uv);
}
";

impl GlPicture {
    /// A texture holding `fb`, sampled linearly or nearest, or resampled to `shown_at`
    /// physical pixels (see [`GlPicture::upload_whole`]).
    pub fn new(
        gl: Arc<glow::Context>,
        fb: &Framebuffer,
        linear: bool,
        shown_at: Option<[u32; 2]>,
    ) -> Result<Self, GlPictureError> {
        let version = ShaderVersion::get(&gl);
        if !version.is_new_shader_interface() {
            return Err(GlPictureError::OldShaderVersion(version));
        }
        let program = link_program(&gl, version)?;
        // SAFETY: plain object creation on the current context.
        let vertex_array = unsafe { gl.create_vertex_array() }.map_err(|e| {
            unsafe { gl.delete_program(program) };
            GlPictureError::Create(e)
        })?;
        let texture = unsafe { gl.create_texture() }.map_err(|e| {
            unsafe {
                gl.delete_program(program);
                gl.delete_vertex_array(vertex_array);
            }
            GlPictureError::Create(e)
        })?;
        let mut picture = Self {
            gl,
            texture,
            program,
            vertex_array,
            size: [0, 0],
            linear,
            resampler: None,
            scratch: Scratch::default(),
            staging: Vec::new(),
        };
        picture.upload_whole(fb, linear, shown_at);
        Ok(picture)
    }

    /// The size the texture holds the picture at when it is resampled on the CPU.
    pub fn shown_at(&self) -> Option<[u32; 2]> {
        self.resampler.as_ref().map(Resampler::output_size)
    }

    /// Replaces the whole picture (re-allocating the texture when the size changed) and sets
    /// its filtering. With `shown_at` smaller than the picture the texture holds it averaged
    /// down to that size, to be drawn there 1:1; otherwise it holds it as it is.
    pub fn upload_whole(&mut self, fb: &Framebuffer, linear: bool, shown_at: Option<[u32; 2]>) {
        let source = [fb.width(), fb.height()];
        self.resampler = shown_at
            .filter(|&shown| shown != source)
            .and_then(|shown| Resampler::new(source, shown));
        let (size, linear) = match &self.resampler {
            Some(r) => {
                let size = r.output_size();
                let all = Rect::new(0, 0, size[0], size[1]);
                r.resample_bgra(fb, all, &mut self.scratch, &mut self.staging);
                (size, false)
            }
            None => {
                to_bgra(fb, fb.full_rect(), &mut self.staging);
                (source, linear)
            }
        };
        let gl = &self.gl;
        let filter = if linear { glow::LINEAR } else { glow::NEAREST } as i32;
        // SAFETY: the texture is ours; `staging` holds exactly width*height BGRA8 pixels,
        // which is what TexImage2D reads with row length 0 and alignment 4.
        unsafe {
            gl.bind_texture(glow::TEXTURE_2D, Some(self.texture));
            gl.tex_parameter_i32(glow::TEXTURE_2D, glow::TEXTURE_MIN_FILTER, filter);
            gl.tex_parameter_i32(glow::TEXTURE_2D, glow::TEXTURE_MAG_FILTER, filter);
            let clamp = glow::CLAMP_TO_EDGE as i32;
            gl.tex_parameter_i32(glow::TEXTURE_2D, glow::TEXTURE_WRAP_S, clamp);
            gl.tex_parameter_i32(glow::TEXTURE_2D, glow::TEXTURE_WRAP_T, clamp);
            gl.pixel_store_i32(glow::UNPACK_ALIGNMENT, 4);
            gl.pixel_store_i32(glow::UNPACK_ROW_LENGTH, 0);
            gl.tex_parameter_i32(glow::TEXTURE_2D, glow::TEXTURE_MAX_LEVEL, 0);
            // Unsized GL_RGBA with BGRA data: Mesa then stores B8G8R8A8 (see above).
            gl.tex_image_2d(
                glow::TEXTURE_2D,
                0,
                glow::RGBA as i32,
                size[0] as i32,
                size[1] as i32,
                0,
                glow::BGRA,
                glow::UNSIGNED_BYTE,
                glow::PixelUnpackData::Slice(Some(&self.staging)),
            );
        }
        self.size = size;
        self.linear = linear;
    }

    /// Uploads what changed in the area `r` of `fb`, which has the picture's size.
    /// Rectangles outside the picture or of another size of picture are ignored.
    pub fn upload_rect(&mut self, fb: &Framebuffer, r: Rect) {
        if r.is_empty() || fb.check_rect(r).is_err() {
            return;
        }
        let r = match &self.resampler {
            Some(resampler) => {
                let out = resampler.output_rect(r);
                if !resampler.resample_bgra(fb, out, &mut self.scratch, &mut self.staging) {
                    return;
                }
                out
            }
            None if [fb.width(), fb.height()] == self.size => {
                to_bgra(fb, r, &mut self.staging);
                r
            }
            None => return,
        };
        let gl = &self.gl;
        // SAFETY: `staging` holds exactly r.w*r.h packed BGRA8 pixels, what GL reads with
        // row length 0 and alignment 4.
        unsafe {
            gl.bind_texture(glow::TEXTURE_2D, Some(self.texture));
            gl.pixel_store_i32(glow::UNPACK_ALIGNMENT, 4);
            gl.pixel_store_i32(glow::UNPACK_ROW_LENGTH, 0);
            gl.tex_sub_image_2d(
                glow::TEXTURE_2D,
                0,
                r.x as i32,
                r.y as i32,
                r.w as i32,
                r.h as i32,
                glow::BGRA,
                glow::UNSIGNED_BYTE,
                glow::PixelUnpackData::Slice(Some(&self.staging)),
            );
        }
    }

    /// A paint callback drawing the picture to fill `rect` (in points).
    pub fn paint_callback(&self, rect: egui::Rect) -> egui::PaintCallback {
        let (program, vertex_array, texture) = (self.program, self.vertex_array, self.texture);
        let callback = egui_glow::CallbackFn::new(move |info, painter| {
            let gl = painter.gl();
            // egui clamps the viewport it sets to the window, which would squeeze a picture
            // that extends past it (1:1 and scrolled); the scissor clips instead.
            let ppp = info.pixels_per_point;
            let px = |points: f32| (points * ppp).round() as i32;
            let r = info.viewport;
            let bottom = info.screen_size_px[1] as i32 - px(r.max.y);
            // SAFETY: objects created by this module on the painter's context; egui_glow
            // restores its own state after the callback.
            unsafe {
                gl.viewport(px(r.min.x), bottom, px(r.width()), px(r.height()));
                gl.disable(glow::BLEND);
                gl.use_program(Some(program));
                gl.bind_vertex_array(Some(vertex_array));
                gl.active_texture(glow::TEXTURE0);
                gl.bind_texture(glow::TEXTURE_2D, Some(texture));
                gl.draw_arrays(glow::TRIANGLE_FAN, 0, 4);
                gl.bind_vertex_array(None);
            }
        });
        egui::PaintCallback {
            rect,
            callback: Arc::new(callback),
        }
    }
}

impl Drop for GlPicture {
    fn drop(&mut self) {
        // SAFETY: deleting our own objects; the window's context is still alive while the
        // view that owns this picture is.
        unsafe {
            self.gl.delete_texture(self.texture);
            self.gl.delete_vertex_array(self.vertex_array);
            self.gl.delete_program(self.program);
        }
    }
}

/// Writes the pixels of `r` (inside `fb`) to `out` as packed BGRA rows.
pub(crate) fn to_bgra(fb: &Framebuffer, r: Rect, out: &mut Vec<u8>) {
    let row_bytes = r.w as usize * 4;
    let needed = row_bytes * r.h as usize;
    // Grown, never cleared: every byte is written below.
    if out.len() < needed {
        out.resize(needed, 0);
    }
    out.truncate(needed);
    for (dy, dst_row) in (0..r.h).zip(out.chunks_exact_mut(row_bytes)) {
        swap_red_blue(fb.row(r, dy), dst_row);
    }
}

/// Writes the pixels of `r` (inside `fb`) as BGRA at the same place of `image`, a picture
/// of `fb`'s size whose rows are `stride` bytes apart. Writes nothing if `image` is too
/// small.
pub(crate) fn to_bgra_into(fb: &Framebuffer, r: Rect, image: &mut [u8], stride: usize) {
    let row_bytes = r.w as usize * 4;
    let x = r.x as usize * 4;
    let fits = x + row_bytes <= stride
        && (r.bottom() as usize).saturating_sub(1) * stride + x + row_bytes <= image.len();
    if r.is_empty() || !fits {
        return;
    }
    // The rows were just written by another thread: ask for them a few rows ahead.
    for dy in 0..r.h.min(PREFETCH_AHEAD) {
        prefetch(fb.row(r, dy));
    }
    for dy in 0..r.h {
        if dy + PREFETCH_AHEAD < r.h {
            prefetch(fb.row(r, dy + PREFETCH_AHEAD));
            let ahead = (r.y + dy + PREFETCH_AHEAD) as usize * stride + x;
            prefetch(&image[ahead..ahead + row_bytes]);
        }
        let start = (r.y + dy) as usize * stride + x;
        swap_red_blue(fb.row(r, dy), &mut image[start..start + row_bytes]);
    }
}

/// RGBA pixels to BGRA: 16 bytes at a time with SSSE3 where the CPU has it (the compiler
/// does not vectorise the byte shuffle for baseline x86-64), else pixel by pixel.
#[inline]
fn swap_red_blue(src: &[u8], dst: &mut [u8]) {
    let n = src.len().min(dst.len()) / 4 * 4;
    let (src, dst) = (&src[..n], &mut dst[..n]);
    #[cfg(target_arch = "x86_64")]
    let done = if std::arch::is_x86_feature_detected!("ssse3") {
        // SAFETY: the CPU has SSSE3 (checked above).
        #[allow(unsafe_code)]
        unsafe {
            swap_red_blue_ssse3(src, dst)
        }
    } else {
        0
    };
    #[cfg(not(target_arch = "x86_64"))]
    let done = 0;
    for (s, d) in src[done..]
        .chunks_exact(4)
        .zip(dst[done..].chunks_exact_mut(4))
    {
        d.copy_from_slice(&[s[2], s[1], s[0], s[3]]);
    }
}

/// [`swap_red_blue`] for whole 16-byte blocks; returns how many bytes it did.
///
/// # Safety
/// The CPU must support SSSE3.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "ssse3")]
#[allow(unsafe_code)]
unsafe fn swap_red_blue_ssse3(src: &[u8], dst: &mut [u8]) -> usize {
    use std::arch::x86_64::{
        __m128i, _mm_loadu_si128, _mm_setr_epi8, _mm_shuffle_epi8, _mm_storeu_si128,
    };
    let order = _mm_setr_epi8(2, 1, 0, 3, 6, 5, 4, 7, 10, 9, 8, 11, 14, 13, 12, 15);
    let mut done = 0;
    for (s, d) in src.chunks_exact(16).zip(dst.chunks_exact_mut(16)) {
        // SAFETY: `s` and `d` are 16 bytes each, what the unaligned load and store touch.
        unsafe {
            let v = _mm_loadu_si128(s.as_ptr().cast::<__m128i>());
            _mm_storeu_si128(d.as_mut_ptr().cast::<__m128i>(), _mm_shuffle_epi8(v, order));
        }
        done += 16;
    }
    done
}

fn link_program(
    gl: &glow::Context,
    version: ShaderVersion,
) -> Result<glow::Program, GlPictureError> {
    let precision = if version.is_embedded() {
        "precision mediump float;\n"
    } else {
        ""
    };
    let header = format!("{}{precision}", version.version_declaration());
    // SAFETY: creating, compiling and linking shaders on the current context; every object
    // is deleted on the error paths and the shaders once linked.
    unsafe {
        let program = gl.create_program().map_err(GlPictureError::Create)?;
        let mut shaders = Vec::with_capacity(2);
        for (kind, body) in [
            (glow::VERTEX_SHADER, VERTEX_SHADER),
            (glow::FRAGMENT_SHADER, FRAGMENT_SHADER),
        ] {
            let shader = match gl.create_shader(kind) {
                Ok(shader) => shader,
                Err(e) => {
                    delete_all(gl, program, &shaders);
                    return Err(GlPictureError::Create(e));
                }
            };
            shaders.push(shader);
            gl.shader_source(shader, &format!("{header}{body}"));
            gl.compile_shader(shader);
            if !gl.get_shader_compile_status(shader) {
                let log = gl.get_shader_info_log(shader);
                delete_all(gl, program, &shaders);
                return Err(GlPictureError::Shader(log));
            }
            gl.attach_shader(program, shader);
        }
        gl.link_program(program);
        let linked = gl.get_program_link_status(program);
        let log = gl.get_program_info_log(program);
        for &shader in &shaders {
            gl.detach_shader(program, shader);
            gl.delete_shader(shader);
        }
        if !linked {
            gl.delete_program(program);
            return Err(GlPictureError::Shader(log));
        }
        gl.use_program(Some(program));
        let sampler = gl.get_uniform_location(program, "u_picture");
        gl.uniform_1_i32(sampler.as_ref(), 0);
        gl.use_program(None);
        Ok(program)
    }
}

/// Deletes a half-built program and its shaders.
///
/// # Safety
/// The objects must belong to `gl`, which must be current.
unsafe fn delete_all(gl: &glow::Context, program: glow::Program, shaders: &[glow::Shader]) {
    unsafe {
        for &shader in shaders {
            gl.delete_shader(shader);
        }
        gl.delete_program(program);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fast_swap_matches_the_pixel_by_pixel_one() {
        // Lengths around the 16-byte blocks, so the tail is exercised too.
        for len in [0, 4, 12, 16, 20, 64, 68, 1020] {
            let src: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            let mut fast = vec![0; len];
            swap_red_blue(&src, &mut fast);
            let slow: Vec<u8> = src
                .chunks_exact(4)
                .flat_map(|p| [p[2], p[1], p[0], p[3]])
                .collect();
            assert_eq!(fast, slow, "{len} bytes");
        }
    }

    #[test]
    fn bgra_rows_of_a_rectangle() {
        let mut fb = Framebuffer::new(3, 2).unwrap_or_else(|e| panic!("{e}"));
        for (i, px) in fb.pixels_mut().chunks_exact_mut(4).enumerate() {
            px.copy_from_slice(&[i as u8, 10 + i as u8, 20 + i as u8, 255]);
        }
        let mut out = vec![9; 100];
        to_bgra(&fb, Rect::new(1, 0, 2, 2), &mut out);
        assert_eq!(
            out,
            [
                21, 11, 1, 255, 22, 12, 2, 255, // row 0, pixels 1 and 2
                24, 14, 4, 255, 25, 15, 5, 255, // row 1, pixels 4 and 5
            ]
        );
    }
}
