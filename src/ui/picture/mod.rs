//! The remote picture on screen.

pub mod gl;
pub mod resample;
pub mod x11;
