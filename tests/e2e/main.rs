//! End-to-end tests of the whole app under `stackgen local`: over HTTP, through the
//! queues and buses, with real Cognito tokens from the endpoint (see `helpers.rs`).

mod cli;
mod documented;
mod faults;
mod helpers;
mod hostile;
mod invoke;
mod orders;
mod orderstatus;
mod tokens;
mod userprofile;
mod users;
mod workshop;
