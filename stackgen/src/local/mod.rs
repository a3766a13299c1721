//! `stackgen local`: the whole app from the checked model on one machine, with the real handler
//! binaries, without AWS or Docker.
pub mod gateway;
