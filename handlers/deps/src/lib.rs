//! No code: this crate only names the dependencies (and features) every handler bootstrap
//! is built with, so that `sam build` resolves the same feature set in each handler crate
//! and compiles every dependency once for all of them. See `Cargo.toml`.
