//! The simulator's RFB server (work in progress).

pub mod encode;
pub mod pixel;
