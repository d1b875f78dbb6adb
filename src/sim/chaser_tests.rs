//! Chaser preview tests (filled below).
