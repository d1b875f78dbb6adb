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
//! context current (and clears it) before calling the app. This is the GL backend of
//! [`super::Picture`], which decides what to upload when; where the GL objects cannot be
//! made (GLSL too old) it keeps the picture in an egui texture instead ([`super::texture`]).

// OpenGL is a C API: every call through glow is `unsafe`. Each block below only passes
// objects this module created on the same context and slices whose bounds are checked.
#![allow(unsafe_code)]

use std::sync::Arc;

use eframe::egui_glow::{self, ShaderVersion};
use eframe::glow::{self, HasContext as _};

use super::resample::Downscale;
use crate::core::frame::{Framebuffer, Rect};

/// One picture texture and the program that draws it, on one GL context.
pub struct GlPicture {
    gl: Arc<glow::Context>,
    texture: glow::Texture,
    program: glow::Program,
    /// An empty vertex array: the quad's corners come from `gl_VertexID`.
    vertex_array: glow::VertexArray,
    linear: bool,
    /// The picture at the texture's size: the picture's own, or, when it is shown smaller,
    /// the size it is shown at, averaged on the CPU ([`super::resample`]) and drawn 1:1.
    downscale: Downscale,
    /// BGRA rows of the rectangle being uploaded, reused between uploads.
    staging: Vec<u8>,
}

impl std::fmt::Debug for GlPicture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GlPicture")
            .field("size", &self.downscale.output_size())
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
            linear,
            downscale: Downscale::default(),
            staging: Vec::new(),
        };
        picture.upload_whole(fb, linear, shown_at);
        Ok(picture)
    }

    /// The size the texture holds the picture at when it is resampled on the CPU.
    pub fn shown_at(&self) -> Option<[u32; 2]> {
        let d = &self.downscale;
        d.is_resampled().then(|| d.output_size())
    }

    /// Replaces the whole picture (re-allocating the texture when the size changed) and sets
    /// its filtering. With `shown_at` smaller than the picture the texture holds it averaged
    /// down to that size, to be drawn there 1:1; otherwise it holds it as it is.
    pub fn upload_whole(&mut self, fb: &Framebuffer, linear: bool, shown_at: Option<[u32; 2]>) {
        let source = [fb.width(), fb.height()];
        self.downscale = shown_at
            .map(|shown| Downscale::new(source, shown))
            .filter(Downscale::is_resampled)
            .unwrap_or_else(|| Downscale::new(source, source));
        let size = self.downscale.output_size();
        // A resampled texture is drawn 1:1: nearest is exact and the fast path's copy.
        let linear = linear && !self.downscale.is_resampled();
        let all = Rect::new(0, 0, size[0], size[1]);
        self.downscale.draw(fb, all, &mut self.staging);
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
        self.linear = linear;
    }

    /// Uploads what changed in the area `r` of `fb`, which has the picture's size.
    /// Rectangles outside the picture or of another size of picture are ignored.
    pub fn upload_rect(&mut self, fb: &Framebuffer, r: Rect) {
        let Some(r) = self.downscale.output_rect(fb, r) else {
            return;
        };
        if !self.downscale.draw(fb, r, &mut self.staging) {
            return;
        }
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
