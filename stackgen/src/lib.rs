//! stackgen: reads the app's typed service model (`model/`), checks it, and renders the AWS
//! SAM templates (`generated/`) with the minijinja templates in `templates/`.
//!
//! The stages, each a function from one type to the next:
//!
//! 1. [`model::load`] parses the YAML files into the raw schema ([`model::Model`]); each
//!    parse error carries `file:line:col` (a missing field's at the mapping that lacks it,
//!    see [`enclosing`]), and a file is read on past a bad entry ([`recover`]), so one run
//!    reports them all.
//! 2. [`app::App::check`] runs every rule ([`check`]) and returns all findings, or the
//!    [`app::App`]: the checked model with every derived fact final (defaults applied,
//!    references and imports resolved, each route's authentication decided).
//! 3. [`render::Renderer::render_all`] turns the app into the template files (one module per
//!    resource family) and the architecture diagrams ([`diagram`]).
//!
//! [`span`] keeps positions in model files for every stage's messages; [`vtl`] holds the API Gateway mapping templates for the typed integrations; [`yaml`]
//! prints CloudFormation values; [`commands`] are the CLI's subcommands.
//!
//! ```no_run
//! use std::path::Path;
//! let model = stackgen::model::load(Path::new("model")).expect("the model parses");
//! let app = stackgen::app::App::check(model).expect("the model passes the checks");
//! let renderer = stackgen::render::Renderer::new(Path::new("templates")).unwrap();
//! for (file, text) in renderer.render_all(&app).unwrap() {
//!     println!("{file}: {} bytes", text.len());
//! }
//! ```
#![warn(missing_docs)]

pub mod app;
pub mod check;
pub mod commands;
pub mod diag;
pub mod diagram;
pub mod diff;
pub mod embed;
pub mod enclosing;
pub mod model;
pub mod openapi;
pub mod recover;
pub mod render;
pub mod samconfig;
pub mod span;
pub mod suggest;
pub mod vtl;
pub mod yaml;
