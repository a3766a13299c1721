//! The local runtime driven end to end with a real `lambda_runtime` function.

mod failures;
mod invoke;
mod lifecycle;
mod once;
mod reload;
mod support;
