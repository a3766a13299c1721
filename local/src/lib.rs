//! Local runtime for the app (in progress).
