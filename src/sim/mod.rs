//! The built-in simulator of the provider APIs (being written).

pub mod desktop;
pub mod rfb;
